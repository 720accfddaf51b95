#!/usr/bin/env bash
# Generates the Python stubs of the wagate.v1 API from protos/ with Debian's
# protoc and grpc_python_plugin (packages protobuf-compiler, protobuf-compiler-grpc),
# for Debian's python3-grpcio and python3-protobuf.
#
#   clients/python/generate.sh [OUT_DIR]     # default: clients/python/gen
#
# The examples run it themselves when the stubs are missing or older than the
# protos (wagate_stubs.py); WAGATE_PY_STUBS picks another OUT_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/gen}
plugin=${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

# Several processes may ask at once (tests run in parallel): one generates,
# and the stubs appear in OUT_DIR whole, by rename.
exec 9>"$out.lock"
flock 9
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$root/protos"
includes=(-I .)
[ -d /usr/include/google/protobuf ] && includes+=(-I /usr/include)
protoc "${includes[@]}" --python_out="$tmp" --grpc_out="$tmp" \
  --plugin=protoc-gen-grpc="$plugin" wagate/v1/*.proto
rm -rf "$out.old"
[ -e "$out" ] && mv "$out" "$out.old"
mv "$tmp" "$out"
rm -rf "$out.old"
