#!/usr/bin/env bash
# Side-by-side bridge benchmark with ../shared/bench/bridgebench (the harness is not copied into this repository).
#
#   bench/bridgebench.sh switchboard [bench.mjs options…]   e.g. --calls 400 --seconds 40, or --calls 400 --ramp-ms 5 (a burst)
#   bench/bridgebench.sh sample      [bench.mjs options…]   the official Twilio Node sample, from $SAMPLE_DIR
#   bench/bridgebench.sh relay       [bench.mjs options…]   a byte-copying TCP relay: the floor of a per-frame bridge
#
# switchboard: builds the server as ./switchboard does (.build/switchboard), starts it through the bench's bridge-host mode
#   (fresh SQLite folder, demo tenant pointed at the harness's mock ws://127.0.0.1:$MOCK_PORT/v1/realtime, the plan's
#   concurrent-call limit lifted, the shipped runtimeconfig), then runs bench.mjs with --voice-url/--auth-token/--pid.
# sample: SAMPLE_DIR is a folder OUTSIDE this repository holding the sample's index.js and package.json (git show them from
#   twilio-samples/speech-assistant-openai-realtime-api-node), `npm install`ed, with its OpenAI URL replaced by
#   ws://127.0.0.1:7070/v1/realtime; it is started with PORT=5050 and a dummy OPENAI_API_KEY.
# Each run prints the harness's JSON line, prefixed by the load average. liveProviderSessions < calls means lost calls
# (they got the fallback, or never connected).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
what=${1:?switchboard or sample}; shift
MOCK_PORT=${MOCK_PORT:-7070}
harness_src=${BRIDGEBENCH_DIR:-$root/../shared/bench/bridgebench}
# The harness runs from a scratch copy with its own node_modules (the shared folder stays untouched).
harness=${BRIDGEBENCH_WORK:-${TMPDIR:-/tmp}/bridgebench}
if [ ! -f "$harness/node_modules/ws/package.json" ] || ! cmp -s "$harness_src/bench.mjs" "$harness/bench.mjs"; then
  mkdir -p "$harness"
  cp "$harness_src"/{bench.mjs,package.json,package-lock.json} "$harness/"
  (cd "$harness" && npm ci --silent >&2)
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
case "$what" in
  switchboard)
    # SERVER_DIR: a server built beforehand (e.g. dotnet build src/Switchboard/Switchboard.csproj -c Release -o /tmp/x), for A/B runs.
    out=${SERVER_DIR:-.build/switchboard}
    [ -n "${SERVER_DIR:-}" ] || dotnet build src/Switchboard/Switchboard.csproj -c Release -o "$out" --nologo -v quiet -clp:ErrorsOnly >&2
    dotnet build bench/Switchboard.Bench -c Release --nologo -v quiet -clp:ErrorsOnly >&2
    host_log=$(mktemp)
    # bridge-host keeps the server up until its standard input closes: feed it from a pipe we hold open.
    exec 3> >(dotnet run -c Release --no-build --project bench/Switchboard.Bench -- bridge-host --server "$out/Switchboard.dll" \
      --realtime-url "ws://127.0.0.1:$MOCK_PORT/v1/realtime" ${BRIDGE_HOST_DB:+--db $BRIDGE_HOST_DB} >"$host_log" 2>&1)
    for _ in $(seq 1 240); do grep -q '^BRIDGE_HOST ' "$host_log" && break; sleep 0.5; done
    line=$(grep '^BRIDGE_HOST ' "$host_log") || { cat "$host_log" >&2; exit 1; }
    pid=$(sed -E 's/.* pid=([0-9]+).*/\1/' <<<"$line")
    voice_url=$(sed -E 's/.* voice-url=([^ ]+).*/\1/' <<<"$line")
    token=$(sed -E 's/.* auth-token=([^ ]+).*/\1/' <<<"$line")
    (cd "$harness" && node bench.mjs --mock-port "$MOCK_PORT" --pid "$pid" --voice-url "$voice_url" --auth-token "$token" "$@")
    exec 3>&-
    for _ in $(seq 1 60); do grep -q "bridge-host: calls by end" "$host_log" && break; sleep 0.5; done
    grep -A12 "bridge-host: server log" "$host_log" >&2 || true
    ;;
  sample)
    : "${SAMPLE_DIR:?a folder outside the repository with the sample installed (see the header)}"
    (cd "$SAMPLE_DIR" && PORT=5050 OPENAI_API_KEY=bench exec node index.js >/dev/null 2>&1) &
    pids+=($!)
    for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5050) 2>/dev/null && break; sleep 0.5; done
    pid=$(pgrep -P "${pids[0]}" node || echo "${pids[0]}")
    (cd "$harness" && node bench.mjs --mock-port "$MOCK_PORT" --pid "$pid" --connect ws://127.0.0.1:5050/media-stream "$@")
    ;;
  relay)
    # The floor of a per-frame bridge (RelayFloorBench.cs): a byte-copying relay between the callers and the mock;
    # RELAY_TICK_MS=N: a time-batched one (every socket read every N ms by one thread).
    dotnet build bench/Switchboard.Bench -c Release --nologo -v quiet -clp:ErrorsOnly >&2
    relay_log=$(mktemp)
    exec 3> >(dotnet run -c Release --no-build --project bench/Switchboard.Bench -- relay-floor --port 5050 \
      --upstream "127.0.0.1:$MOCK_PORT" --tick-ms "${RELAY_TICK_MS:-0}" >"$relay_log" 2>&1)
    for _ in $(seq 1 120); do grep -q '^RELAY ' "$relay_log" && break; sleep 0.5; done
    pid=$(sed -nE 's/^RELAY pid=([0-9]+).*/\1/p' "$relay_log")
    [ -n "$pid" ] || { cat "$relay_log" >&2; exit 1; }
    (cd "$harness" && node bench.mjs --mock-port "$MOCK_PORT" --pid "$pid" --connect "ws://127.0.0.1:5050/v1/realtime" "$@")
    exec 3>&-
    ;;
  *) echo "unknown: $what (switchboard, sample or relay)" >&2; exit 2 ;;
esac
