#!/usr/bin/env bash
# RSS of the server under N live calls, after full GCs, with a breakdown by mapping (issue 16; bench/results/bridge-memory-*.md).
#
#   bench/bridgemem.sh LABEL [CALLS]   e.g. bench/bridgemem.sh before 100; bench/bridgemem.sh before 400
#
# Runs bench/bridgebench.sh switchboard (this checkout's build) for CALLS calls; 40 s after the server started reads
# /proc/PID/status and the mapping breakdown before any diagnostics session (an EventPipe session mallocs its buffers),
# then forces two full blocking GCs with dotnet-gcdump (the first GC's surplus regions are decommitted at the next one)
# and reads them again. Per live call = slope between two CALLS values of the same build. Extra environment variables
# reach the server (e.g. DOTNET_GCgen0size, MALLOC_ARENA_MAX). Output in ${BRIDGEMEM_OUT:-/tmp/bridgemem}/LABEL.*.
# SERVER_DIR=<folder> measures a server built beforehand (A/B runs); BRIDGEMEM_WAIT=<s> waits longer than 40 s after the
# server started, BRIDGEMEM_AFTER_CALLS=<s> waits that long after the harness started its calls (the set-up burst ends
# 2 s in at 400 calls; the run's warm-up lasts 30 s).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
label=${1:?label}; calls=${2:-400}; out=${BRIDGEMEM_OUT:-${TMPDIR:-/tmp}/bridgemem}; mkdir -p "$out"
gcdump=${DOTNET_GCDUMP:-$HOME/.dotnet/tools/dotnet-gcdump}
( bench/bridgebench.sh switchboard --calls "$calls" --seconds 40 --warmup 30 >"$out/$label.out" 2>"$out/$label.err" ) &
bench=$!
pid=
server_dll=$(realpath -m "${SERVER_DIR:-$root/.build/switchboard}/Switchboard.dll")
# The server's command line holds the DLL; the bench process that started it (bridge-host --server …) too.
server_pid() { for p in $(pgrep -f "$server_dll"); do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q bridge-host || { echo "$p"; return; }; done; }
for _ in $(seq 1 400); do pid=$(server_pid); [ -n "$pid" ] && break; sleep 1; done
[ -n "$pid" ] || { echo "the server did not start" >&2; exit 1; }
if [ -n "${BRIDGEMEM_AFTER_CALLS:-}" ]; then
  # Measured from the harness's start (its calls start at once, 5 ms apart) rather than from the server's.
  for _ in $(seq 1 400); do pgrep -f "bench.mjs --mock-port ${MOCK_PORT:-7070}" >/dev/null && break; sleep 0.2; done
  sleep "$BRIDGEMEM_AFTER_CALLS"
else
  sleep "${BRIDGEMEM_WAIT:-40}"
fi
snapshot() {
  echo "$1: $(grep -E 'VmRSS|RssAnon' /proc/"$pid"/status | tr -s ' \t' ' ' | tr '\n' ' ')threads $(ls /proc/"$pid"/task | wc -l), SQLite connections $(ls -l /proc/"$pid"/fd | grep -c '\.db-wal$')"
  python3 bench/smaps-breakdown.py "$pid" | head -8
}
{
  snapshot "live"
  "$gcdump" collect -p "$pid" -o "$out/$label.gcdump" >/dev/null 2>&1
  sleep 1
  "$gcdump" collect -p "$pid" -o "$out/$label.2.gcdump" >/dev/null 2>&1
  snapshot "after two full GCs"
} >"$out/$label.rss"
wait $bench
"$gcdump" report "$out/$label.2.gcdump" 2>/dev/null | head -1 >>"$out/$label.rss"
echo "$label ($calls calls): $(grep '^{' "$out/$label.out" | grep -oE '"(liveProviderSessions|bridgeCpuPerCallPct|errors)":[0-9.]+' | tr '\n' ' ')"
cat "$out/$label.rss"
