# Sourced by ./switchboard, ./test.sh and .ci/run: builds the browser front ends when their sources changed.

# node_ok: Node.js >= 20.19 with npm (Vite 8 needs it).
node_ok() {
  command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 \
    && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'
}

# install_front DIR: npm ci when the lock file is newer than the last install (or nothing is installed).
install_front() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "Installing $dir dependencies…" >&2
    npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >&2 || return 1
  fi
}

# build_front DIR OUTPUT: (re)install when the lock file changed, build when any source is newer than OUTPUT.
# Returns 0 when OUTPUT is up to date (or Node is missing: the host then serves a one-line "not built" page), 1 when the build failed.
build_front() {
  local dir=$1 out=$2
  [ -d "$dir" ] || return 0
  if [ -f "$out" ] && [ -z "$(find "$dir" \( -name node_modules -o -name dist \) -prune -o -type f -newer "$out" -print -quit)" ]; then
    return 0
  fi
  if ! node_ok; then
    echo "Node.js >= 20.19 with npm is needed to build $dir (https://nodejs.org); serving without it." >&2
    return 0
  fi
  install_front "$dir" || { echo "npm ci failed in $dir" >&2; return 1; }
  echo "Building $dir…" >&2
  npm run --prefix "$dir" --silent build >&2 || { echo "Build of $dir failed" >&2; return 1; }
}
