#!/usr/bin/env bash
# Regenerates every benchmark figure in bench/results/ (JSON + text tables),
# the micro-benchmarks' JSON, machine.txt and, when gnuplot is installed, the
# plots. One command, from anywhere:
#
#   bash bench/run.sh                 # full run (~25 min: soak is 10 min)
#   SOAK=60s E2E=20s bash bench/run.sh  # shorter
#
# Benchmarks never fail on speed: a scenario's non-zero exit (errors, lost or
# duplicated events) is recorded in results/status.txt and the run goes on.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/bench}
OUT=${OUT:-$ROOT/bench/results}
RATE=${RATE:-1000}
SEND=${SEND:-60s}     # send-rate duration
MAX=${MAX:-20s}       # send-max / webhook-max duration (and their references)
E2E=${E2E:-60s}
E2E100=${E2E100:-20s}  # 100 subscribers (at 1,000 mps: 300k deliveries/s,
                       # more than 2 shared cores do in one process)
SOAK=${SOAK:-600s}
SKIP_BUILD=${SKIP_BUILD:-0}
mkdir -p "$OUT"

if [ "$SKIP_BUILD" != 1 ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 2
  cmake --build "$BUILD" -j2 --target wagate-bench wagate_micro_benchmark \
    events_store_benchmark webhook_ingress_benchmark graph_send_path_benchmark \
    || exit 2
fi
B="$BUILD/bench/wagate-bench"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "cpu: $(lscpu | sed -n 's/^Model name:\s*//p') x $(nproc)"
  echo "kernel: $(uname -r)"
  echo "load before run: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
: > "$OUT/status.txt"

run() {  # run NAME ARGS...: one scenario, its table, its JSON, its status
  local name=$1; shift
  echo "== $name: wagate-bench $*" | tee -a "$OUT/status.txt"
  "$B" "$@" --json "$OUT/$name.json" | tee "$OUT/$name.txt"
  echo "   exit $? (load $(cut -d' ' -f1-3 /proc/loadavg))" >> "$OUT/status.txt"
}

run send-rate send-rate --rate "$RATE" --duration "$SEND"
run send-max send-max --duration "$MAX" --ref_duration "$MAX" --peer
run webhook-max webhook-max --duration "$MAX" --ref_duration "$MAX" --peer
run e2e e2e --rate "$RATE" --duration "$E2E100" --subscribers 100
run e2e-300x100 e2e --rate 300 --duration "$E2E100" --subscribers 100
# How many subscribers 3,000 events/s reaches within the latency target.
run e2e-1000x30 e2e --rate "$RATE" --duration "$E2E100" --subscribers 30
run e2e-1000x50 e2e --rate "$RATE" --duration "$E2E100" --subscribers 50
run e2e-10 e2e --rate "$RATE" --duration "$E2E" --subscribers 10
# The Redis Streams backend beside SQLite (a private redis-server, fsync on
# every write), same scenarios and references.
if [ -x /usr/bin/redis-server ]; then
  run webhook-max-redis webhook-max --duration "$MAX" --ref_duration "$MAX" --store redis
  run e2e-10-redis e2e --rate "$RATE" --duration "$E2E" --subscribers 10 --store redis
fi
run soak soak --rate "$RATE" --duration "$SOAK" --subscribers 10

for m in wagate_micro_benchmark:bench events_store_benchmark:service/events \
         webhook_ingress_benchmark:service/webhook \
         graph_send_path_benchmark:service/graph; do
  exe=${m%%:*}; dir=${m#*:}
  echo "== micro: $exe" | tee -a "$OUT/status.txt"
  "$BUILD/$dir/$exe" --benchmark_out="$OUT/micro-$exe.json" \
    --benchmark_out_format=json | tee "$OUT/micro-$exe.txt"
done

bash "$ROOT/bench/plot.sh" "$OUT"
