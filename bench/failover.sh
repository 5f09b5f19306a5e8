#!/usr/bin/env bash
# Failover, switchover and rejoin on the lab, measured by `pgdr drill`.
# Usage: bench/failover.sh [runs]   (default 10; sync runs 2x as many; needs: swift build)
# Async lab: node-loss and postgres-crash (automatic mode, detection from the lab
# spec: 5 probes 200 ms apart = 1 s window), then switchover. Sync lab
# (`pgdr lab up --sync`): node-loss, to check that no acknowledged commit is lost.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
pgdr=$PWD/.build/debug/pgdr
[ -x "$pgdr" ] || { echo "build first: swift build" >&2; exit 2; }
for mode in async sync; do
  dir=$(mktemp -d /tmp/pgdr-bench-failover-XXXXXX); rmdir "$dir"
  trap '"$pgdr" lab destroy --dir "$dir" --yes >/dev/null 2>&1 || true' EXIT
  if [ "$mode" = sync ]; then "$pgdr" lab up --sync --dir "$dir" >/dev/null; else "$pgdr" lab up --dir "$dir" >/dev/null; fi
  if [ "$mode" = async ]; then
    for scenario in node-loss postgres-crash switchover; do
      echo "== $mode $scenario"
      "$pgdr" drill --scenario "$scenario" --runs "$runs" --config "$dir/pgdr.yaml" | tail -6
    done
  else
    echo "== $mode node-loss"
    "$pgdr" drill --scenario node-loss --runs $((runs * 2)) --config "$dir/pgdr.yaml" | tail -6
  fi
  "$pgdr" lab destroy --dir "$dir" --yes >/dev/null
done
