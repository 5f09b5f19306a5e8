#!/usr/bin/env bash
# Time of `pgdr synth` (both regions, deploy plan) for the `pgdr init` example.
# Usage: bench/synth.sh [runs]   (default 7; needs: swift build). Prints each run and the median.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
pgdr=$PWD/.build/debug/pgdr
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$pgdr" init "$tmp/pgdr.yaml" >/dev/null
times=()
for i in $(seq "$runs"); do
  t=$(python3 -c 'import subprocess,sys,time; t=time.monotonic(); subprocess.run(sys.argv[1:], check=True, capture_output=True); print(f"{time.monotonic()-t:.3f}")' \
      "$pgdr" synth --config "$tmp/pgdr.yaml" --out "$tmp/out")
  echo "run $i: ${t}s"; times+=("$t")
done
python3 -c 'import statistics,sys; print(f"median {statistics.median(map(float, sys.argv[1:])):.3f}s (n={len(sys.argv)-1})")' "${times[@]}"
