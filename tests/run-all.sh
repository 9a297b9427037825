#!/usr/bin/env bash
# The whole test suite in one command: formatting, lints, docs, the Rust
# tests, the browser tests, and a check that nothing was left running.
# Installs what a fresh machine lacks first (Chromium, the web packages).
#   bash tests/run-all.sh
# A missing tool fails the run. PTYHUB_SKIP=ai-cli (outside CI=true only)
# runs it without the AI CLI tests; the closing summary lists every skip.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# The tests append each skip they were asked for to this file.
PTYHUB_SKIP_LOG=$(mktemp -t ptyhub-skipped.XXXXXX)
export PTYHUB_SKIP_LOG
summary() {
  local rc=$?
  step "summary"
  if [ -s "$PTYHUB_SKIP_LOG" ]; then
    echo "skipped on request (PTYHUB_SKIP=${PTYHUB_SKIP:-}):"
    sort -u "$PTYHUB_SKIP_LOG"
  else
    echo "skipped: none"
  fi
  rm -f "$PTYHUB_SKIP_LOG"
  if [ "$rc" = 0 ]; then echo "all passed"; else echo "FAILED (exit $rc)"; fi
}
trap summary EXIT

step "prerequisites"
cargo --version
node --version
npm --version
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium (Debian package) for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null || true
if ! command -v tmux >/dev/null; then
  echo "installing tmux (Debian package): tests/ai_cli.rs compares screens with it"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tmux >/dev/null
fi
tmux -V
if ! command -v curl >/dev/null; then
  echo "installing curl (Debian package): tests/readme.rs runs the README's examples with it"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq curl >/dev/null
fi
if [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx (Debian package): web/tests/proxy.test.mjs runs ptyhub under /pty/ behind it"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
fi
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (Debian package): tests/cluster.rs and web/tests/cluster.test.mjs run nodes on it"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version
if ! command -v asciinema >/dev/null; then
  echo "installing asciinema (Debian package): tests/recording.rs plays recordings with it"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq asciinema >/dev/null
fi
asciinema --version
bash tests/install-ai-clis.sh
(cd web && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "web type check"
(cd web && npm run --silent typecheck)

step "web bundle matches its source"
(cd web && npm run --silent check-dist)

step "web API types match the OpenAPI document"
# tests/deploy.rs keeps web/src/generated/openapi.json equal to the server's.
(cd web && npm run --silent check-types)

step "cargo test"
# The release binary too: `cargo run --release -- serve` is what users run.
cargo build --release --quiet
cargo test --workspace --all-targets

step "screen differential harness (server snapshots vs xterm.js)"
# Hand-written streams for every modelled feature, recordings of real
# programs (tests/screen-diff/record.py) and seeded random streams, each fed
# to @xterm/headless raw and as the server screen's snapshot.
cargo build -p ptyhub-core --example screen-snapshot --quiet
node web/screen-diff/run.mjs --bin "$PWD/target/debug/examples/screen-snapshot"
# The same through a real server: the WebSocket hello snapshot,
# /screen?format=ansi and /screen.
cargo build -p ptyhub --quiet
(cd web && PTYHUB_BIN="$PWD/../target/debug/ptyhub" node --experimental-websocket --no-warnings screen-diff/e2e.mjs)

step "browser tests (headless Chromium against the real binary)"
cargo build -p ptyhub --quiet
(cd web && PTYHUB_BIN="$PWD/../target/debug/ptyhub" npm test)

step "leftover processes"
# No test may leave a session's process behind: no guard, none of the
# marker sleeps the tests start. Guards of a test process that just ended
# take up to a second to finish their sessions: wait that long first.
pattern='ptyhub-guard|ptyhub __guard|sleep 10[0-9]{2}'
left=""
for _ in $(seq 1 50); do
  left=$(ps -eo pid=,args= | grep -E -- "$pattern" | grep -v -E 'grep|run-all' || true)
  [ -z "$left" ] && break
  sleep 0.1
done
if [ -n "$left" ]; then
  echo "processes left behind by the tests:"
  echo "$left"
  exit 1
fi
echo "none"
