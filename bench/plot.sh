#!/usr/bin/env bash
# Plots from bench/results/*.json: latency CDF (send-rate, e2e), throughput
# over time (send-rate, send-max, e2e, soak) and RSS over time (soak). The
# data files (*.dat) are always written; the PNGs need gnuplot, installed
# here (Debian's gnuplot-nox) when missing and run as root with apt.
#
#   bash bench/plot.sh [results-dir]
set -uo pipefail
OUT=${1:-$(cd "$(dirname "$0")" && pwd)/results}
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
for name in ["send-rate", "send-max", "webhook-max", "e2e", "e2e-10",
             "e2e-300x100", "soak"]:
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        continue
    r = json.load(open(path))
    with open(os.path.join(out, name + ".cdf.dat"), "w") as f:
        for ms, frac in r.get("latency_cdf", []):
            f.write(f"{ms} {frac}\n")
    with open(os.path.join(out, name + ".rate.dat"), "w") as f:
        for s, n in enumerate(r.get("per_second", [])):
            f.write(f"{s} {n}\n")
    with open(os.path.join(out, name + ".rss.dat"), "w") as f:
        for s, mb in enumerate(r.get("rss_series_mb", [])):
            f.write(f"{s} {mb}\n")
PY
if ! command -v gnuplot >/dev/null && [ "$(id -u)" = 0 ] &&
   command -v apt-get >/dev/null; then
  apt-get install -y -q gnuplot-nox >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 &&
      apt-get install -y -q gnuplot-nox >/dev/null 2>&1; }
fi
if ! command -v gnuplot >/dev/null; then
  echo "plot.sh: gnuplot not installed; wrote $OUT/*.dat only"
  exit 0
fi
cd "$OUT" || exit 1
gnuplot <<'GP'
set terminal pngcairo size 900,540
set grid
set key bottom right
set output "latency-cdf.png"
set title "Latency CDF"
set xlabel "latency (ms, log)"; set ylabel "fraction of calls/events"
set logscale x
plot for [n in "send-rate e2e-10 soak"] n.".cdf.dat" using 1:2 with lines title n
unset logscale x
set output "throughput.png"
set title "Throughput over time"
set xlabel "second"; set ylabel "completions per second"
set key top right
plot for [n in "send-rate send-max e2e-10 soak"] n.".rate.dat" using 1:2 with lines title n
set output "rss.png"
set title "RSS over time (whole bench process)"
set xlabel "second"; set ylabel "MB"
plot for [n in "soak e2e-10 e2e"] n.".rss.dat" using 1:2 with lines title n
GP
echo "plot.sh: wrote $OUT/latency-cdf.png throughput.png rss.png"
