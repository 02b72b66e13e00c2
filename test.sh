#!/usr/bin/env bash
# Runs every test suite and ends with one line "N passed, N failed":
#   0. dotnet format --verify-no-changes (one failure when it would change a file)
#   1. unit + integration on SQLite (+ interop with the vendors' npm libraries)
#      the browser suite (Playwright + Debian's Chromium) runs inside it, skipping loudly without Chromium or web/dist
#   2. the dashboard (web/): typecheck and lint (one failure each when failing) and Vitest (its counts are added)
#   3. integration on PostgreSQL: SWITCHBOARD_TEST_POSTGRES if set, else a throwaway cluster (initdb + pg_ctl
#      on a free port in a temporary directory, removed afterwards); skipped loudly when neither is available.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
artifacts="$root/.test-artifacts"
rm -rf "$artifacts"; mkdir -p "$artifacts"
passed=0; failed=0

summary() { echo "$passed passed, $failed failed"; }

echo "== build"
if ! dotnet build Switchboard.slnx -c Release --nologo -v quiet -clp:ErrorsOnly; then
  failed=$((failed + 1)); summary; exit 1
fi

# The C# code's layout and style (.editorconfig): one failure when dotnet format would change a file.
echo "== dotnet format (verify)"
if ! dotnet format Switchboard.slnx --verify-no-changes --no-restore -v quiet; then
  echo "-- dotnet format FAILED: run 'dotnet format Switchboard.slnx' and commit what it changes"; failed=$((failed + 1))
fi

# front_checks DIR OUTPUT [lint]: build a front end (the browser tests serve its dist), typecheck it, lint it when asked,
# and add its Vitest counts to the totals. Each failing step counts as one failure.
front_checks() {
  local dir=$1 out=$2 lint=${3:-}
  echo "== $dir: build"
  if ! build_front "$dir" "$out"; then failed=$((failed + 1)); fi
  echo "== $dir: typecheck"
  if ! npm run --prefix "$dir" --silent typecheck; then echo "-- $dir typecheck FAILED"; failed=$((failed + 1)); fi
  if [ -n "$lint" ]; then
    echo "== $dir: lint"
    if ! npm run --prefix "$dir" --silent lint; then echo "-- $dir lint FAILED"; failed=$((failed + 1)); fi
  fi
  echo "== $dir: vitest"
  local report="$artifacts/vitest-$dir.json"
  (cd "$dir" && npx vitest run --reporter=default --reporter=json --outputFile="$report") | tail -5
  if [ -f "$report" ]; then
    local vp vf
    vp=$(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests)' "$report")
    vf=$(node -e 'const r=require(process.argv[1]);console.log(r.numFailedTests)' "$report")
    passed=$((passed + vp)); failed=$((failed + vf))
    echo "-- $dir vitest: $vp passed, $vf failed"
  else
    echo "-- $dir vitest produced no report"; failed=$((failed + 1))
  fi
}

# The dashboard (web/: typecheck, lint, Vitest) and the widget (widget/: typecheck, Vitest incl. the size budget).
. scripts/front-ends.sh
if node_ok; then
  front_checks web web/dist/index.html lint
  front_checks widget widget/dist/widget.js
else
  echo "!! Node.js >= 20.19 is missing: the dashboard and widget are not built or tested, and the browser suites skip. !!"
fi

if [ ! -x "${SWITCHBOARD_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "!! Chromium is missing: the browser suite will SKIP (apt-get install chromium fonts-noto-core, or .ci/run). !!"
fi

if command -v npm >/dev/null 2>&1 && [ ! -d tests/interop/node_modules ]; then
  echo "== npm ci (interop oracles)"
  npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error || echo "npm ci failed: interop tests will fail"
fi

# run_suite NAME FILTER [ENV=VALUE...]
run_suite() {
  local name=$1 filter=$2; shift 2
  echo "== suite: $name"
  local log="$artifacts/$name.log"
  env "$@" dotnet test tests/Switchboard.Tests/Switchboard.Tests.csproj -c Release --no-build --nologo \
      ${filter:+--filter "$filter"} --logger "console;verbosity=normal" 2>&1 | tee "$log" | grep -E "^\s+(Failed|Skipped) |Passed!|Failed!|^\s*error |: error " | head -200
  # the reason of each failure: its message and the first frames of its stack
  grep -A 12 -E "^\s+Failed " "$log" | grep -vE '^\{"Timestamp"' | head -150
  local p f
  # "Total tests: N / Passed: N / Failed: N" (normal verbosity) or "Passed!  - Failed: N, Passed: N" (minimal)
  p=$(grep -E "^ +Passed: +[0-9]+$" "$log" | tail -1 | grep -oE "[0-9]+")
  f=$(grep -E "^ +Failed: +[0-9]+$" "$log" | tail -1 | grep -oE "[0-9]+")
  if [ -z "$p" ] && ! grep -qE "^Total tests: +[0-9]+" "$log"; then
    echo "suite $name produced no result line (crash?): see $log"
    failed=$((failed + 1)); return
  fi
  p=${p:-0}; f=${f:-0}
  # A few failures are run once more, alone, and reported by name as FLAKY when they pass then: a timing-dependent
  # test on a loaded machine must be fixed, but must not hide the rest of the run. Many failures are a real break.
  if [ "$f" -gt 0 ] && [ "$f" -le 5 ]; then
    local names rerun_filter rerun_log="$artifacts/$name.rerun.log" recovered=0 n
    names=$(sed -nE 's/^\s+Failed (Switchboard\.Tests\..*) \[[^]]*\]\s*$/\1/p' "$log" | sort -u)
    rerun_filter=$(echo "$names" | sed -E 's/\(.*$//' | sort -u | sed 's/^/FullyQualifiedName=/' | paste -sd '|')
    if [ -n "$rerun_filter" ]; then
      echo "== $name: running the $f failed test(s) once more, alone"
      env "$@" dotnet test tests/Switchboard.Tests/Switchboard.Tests.csproj -c Release --no-build --nologo \
          --filter "$rerun_filter" --logger "console;verbosity=normal" > "$rerun_log" 2>&1 || true
      while IFS= read -r n; do
        if grep -qF "Passed $n [" "$rerun_log" && ! grep -qF "Failed $n [" "$rerun_log"; then
          echo "FLAKY (failed, then passed alone): $n" | tee -a "$artifacts/flaky.txt"
          recovered=$((recovered + 1))
        fi
      done <<< "$names"
      p=$((p + recovered)); f=$((f - recovered))
    fi
  fi
  passed=$((passed + p)); failed=$((failed + f))
  echo "-- $name: $p passed, $f failed"
}

run_suite sqlite "" SWITCHBOARD_TEST_DB=sqlite

# PostgreSQL
pg_url="${SWITCHBOARD_TEST_POSTGRES:-}"
pg_dir=""; pg_bin=""; pg_user=""
cleanup() {
  if [ -n "$pg_dir" ]; then
    ${pg_user:+runuser -u "$pg_user" --} "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT
if [ -z "$pg_url" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]; then
    pg_dir=$(mktemp -d /tmp/switchboard-pg.XXXXXX)
    if [ "$(id -u)" = "0" ]; then
      pg_user=postgres
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown "$pg_user" "$pg_dir"
    fi
    port=""
    for _ in $(seq 1 50); do
      candidate=$((20000 + RANDOM % 20000))
      if ! (exec 3<>/dev/tcp/127.0.0.1/$candidate) 2>/dev/null; then port=$candidate; break; fi
    done
    echo "== starting throwaway PostgreSQL on 127.0.0.1:$port"
    if ${pg_user:+runuser -u "$pg_user" --} "$pg_bin/initdb" -D "$pg_dir/data" -U switchboard --auth=trust -E UTF8 >"$pg_dir/initdb.log" 2>&1 \
       && ${pg_user:+runuser -u "$pg_user" --} "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
            -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null; then
      pg_url="Host=127.0.0.1;Port=$port;Username=switchboard;Database=postgres"
    else
      echo "!! could not start PostgreSQL:"; cat "$pg_dir"/*.log
      failed=$((failed + 1))
    fi
  fi
fi
if [ -n "$pg_url" ]; then
  run_suite postgres "Category=Database" SWITCHBOARD_TEST_DB=postgres "SWITCHBOARD_TEST_POSTGRES=$pg_url" SWITCHBOARD_SKIP_INTEROP=1
else
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!! PostgreSQL suite SKIPPED: no SWITCHBOARD_TEST_POSTGRES and no initdb/pg_ctl found. !!"
  echo "!! Install it (apt-get install postgresql) to test both databases.                  !!"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi

if [ -s "$artifacts/flaky.txt" ]; then
  echo "!! $(wc -l < "$artifacts/flaky.txt") test(s) failed and then passed alone (timing on a loaded machine): fix them !!"
  cat "$artifacts/flaky.txt"
fi
summary
[ "$failed" -eq 0 ]
