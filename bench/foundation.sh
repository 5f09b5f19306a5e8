#!/usr/bin/env bash
# Times `pgdr lab up` on a fresh folder and one `pgdr status` against it.
# Usage: bench/foundation.sh [runs]   (default 5; needs a debug build: swift build)
# Prints one line per run and the median of each, for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
pgdr=.build/debug/pgdr
[ -x "$pgdr" ] || { echo "build first: swift build" >&2; exit 2; }

now() { python3 -c 'import time; print(time.monotonic())'; }
median() { python3 -c 'import sys, statistics; v=[float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.3f}")' "$@"; }

up_times=(); status_times=()
for i in $(seq "$runs"); do
  dir=$(mktemp -d /tmp/pgdr-bench-XXXXXX); rmdir "$dir"
  t0=$(now); "$pgdr" lab up --loopback --dir "$dir" >/dev/null; t1=$(now)
  "$pgdr" status --config "$dir/pgdr.yaml" >/dev/null   # warm: first connection after start
  t2=$(now); "$pgdr" status --config "$dir/pgdr.yaml" >/dev/null; t3=$(now)
  "$pgdr" lab destroy --dir "$dir" --yes >/dev/null
  up=$(python3 -c "print(f'{$t1-$t0:.3f}')"); st=$(python3 -c "print(f'{$t3-$t2:.3f}')")
  echo "run $i: lab up ${up}s, status ${st}s"
  up_times+=("$up"); status_times+=("$st")
done
echo "median lab up:  $(median "${up_times[@]}")s  (n=$runs)"
echo "median status:  $(median "${status_times[@]}")s  (n=$runs)"
