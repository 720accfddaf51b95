#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and fuzzes each one
# for a while; fails if any of them finds a crash, leak, timeout or UB.
#
#   tests/fuzz/run.sh [seconds per harness, default 30] [harness...]
#
# The build goes to WAGATE_FUZZ_BUILD_DIR (default build/fuzz) configured with
# WAGATE_FUZZ=ON, which builds only the harnesses and the libraries they
# link. Each harness starts from its seed corpora (tests/fuzz/corpus/<name>,
# plus the webhook fixtures and ../shared/conformance for the webhook parser)
# and keeps what it learns in <build>/corpus/<name>, so later runs start
# further in; the seeds themselves are only read. A finding is written to
# <build>/artifacts/<name>/ (crash-*, leak-*, timeout-*): replay it with
# <build>/tests/fuzz/<name>_fuzz <file>, or with the GCC build's
# <name>_fuzz_replay, and keep a real bug's reproducer in tests/fuzz/crashes/.
# WAGATE_FUZZ_ARGS adds libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to
# keep going past a known finding.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-30}
shift || true
harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  harnesses=(webhook_parser graph_answer config http_request)
fi
build=${WAGATE_FUZZ_BUILD_DIR:-$src/build/fuzz}
jobs=${WAGATE_JOBS:-2}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "run.sh: clang++ not found (scripts/setup installs clang)" >&2
  exit 1
fi

# Inputs bigger than this are cut: a 3 MB webhook body fuzzes too slowly to
# find anything, and no parser here behaves differently past 64 KB.
declare -A MAX_LEN=([webhook_parser]=65536 [graph_answer]=65536
                    [config]=16384 [http_request]=16384)
declare -A DICT=([webhook_parser]=json [graph_answer]=json [config]=json
                 [http_request]=http)

# Objects do not depend on the build directory's name (ccache's base_dir makes
# paths relative), so let builds in different directories share them.
export CCACHE_NOHASHDIR=true
mkdir -p "$build"
cmake -S "$src" -B "$build" -DWAGATE_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >"$build/run-configure.log" 2>&1 ||
  { cat "$build/run-configure.log" >&2; exit 1; }
targets=()
for name in "${harnesses[@]}"; do targets+=("${name}_fuzz"); done
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

failed=()
for name in "${harnesses[@]}"; do
  # seeds.txt (written at configure time): "<name> <seed dir>..." per line.
  read -r -a seeds < <(grep "^$name " "$build/tests/fuzz/seeds.txt" | cut -d' ' -f2-)
  work=$build/corpus/$name
  artifacts=$build/artifacts/$name
  mkdir -p "$work" "$artifacts"
  echo "== fuzzing $name for ${seconds}s"
  if ! "$build/tests/fuzz/${name}_fuzz" -max_total_time="$seconds" -timeout=10 \
      -max_len="${MAX_LEN[$name]:-65536}" -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" \
      -dict="$src/tests/fuzz/${DICT[$name]}.dict" \
      ${WAGATE_FUZZ_ARGS:-} "$work" "${seeds[@]}" >"$build/$name.log" 2>&1; then
    failed+=("$name")
    tail -n 60 "$build/$name.log"
  fi
  grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)" \
    "$build/$name.log" || true
done

if ((${#failed[@]})); then
  echo "run.sh: findings in: ${failed[*]} (see $build/artifacts/)" >&2
  exit 1
fi
echo "run.sh: no findings in ${harnesses[*]} (${seconds}s each)"
