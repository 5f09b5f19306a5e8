#!/usr/bin/env bash
# Agent CPU and resident memory at 1 s sampling on the lab, over a fixed time.
# Usage: bench/agent_resources.sh [seconds]   (default 600; needs: swift build)
# CPU = (utime+stime of the agent process) / wall time, in % of one core.
# RSS = peak VmRSS seen (sampled every 5 s) and the final value.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
pgdr=${PGDR_BIN:-$PWD/.build/debug/pgdr}   # PGDR_BIN=... to measure another build
[ -x "$pgdr" ] || { echo "build first: swift build" >&2; exit 2; }
dir=$(mktemp -d /tmp/pgdr-bench-agent-XXXXXX); rmdir "$dir"
cleanup() { [ -n "${agent:-}" ] && kill -TERM "$agent" 2>/dev/null; wait 2>/dev/null; "$pgdr" lab destroy --dir "$dir" --yes >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$pgdr" lab up --loopback --dir "$dir" >/dev/null
sed -e 's/^  interval: 2s$/  interval: 1s/' "$dir/pgdr.yaml" > "$dir/agent.yaml"
grep -q "interval: 1s" "$dir/agent.yaml"
"$pgdr" agent --config "$dir/agent.yaml" --listen 127.0.0.1:0 > "$dir/agent.out" 2>&1 &
agent=$!
sleep 5   # start-up is not what is measured
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$agent/status"; }
c0=$(cpu); t0=$(date +%s.%N); peak=0
end=$(( $(date +%s) + seconds ))
while [ "$(date +%s)" -lt "$end" ]; do
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
  sleep 5
done
c1=$(cpu); t1=$(date +%s.%N); final=$(rss)
rounds=$(curl -s "$(grep -o 'http://[0-9.:]*' "$dir/agent.out" | head -1)/metrics" | awk '/^pgdr_agent_rounds_total/ {print $2}')
python3 - "$c0" "$c1" "$t0" "$t1" "$ticks" "$peak" "$final" "$rounds" <<'PY'
import sys
c0, c1, t0, t1, ticks, peak, final, rounds = sys.argv[1:]
wall = float(t1) - float(t0)
cpu = (float(c1) - float(c0)) / float(ticks) / wall * 100
print(f"wall {wall:.0f}s  rounds {rounds}  cpu {cpu:.2f}% of one core  rss peak {int(peak)/1024:.1f} MiB  final {int(final)/1024:.1f} MiB")
PY
