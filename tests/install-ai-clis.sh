#!/usr/bin/env bash
# Installs the AI coding CLIs that tests/ai_cli.rs drives (Claude Code,
# Codex, Gemini CLI) from npm into tests/.tools/ai-clis (not committed).
# The versions are pinned so that the screens the tests compare stay put;
# bump them together with the tests. About 740 MB on disk (Codex and Claude
# Code ship native binaries), 20-60 s. PTYHUB_AI_CLIS names another folder
# (as it does for the tests).
#
# When the install fails (no registry, no network) the script exits 1 with
# the reason (also written to tests/.tools/ai-clis/FAILED, which the tests
# quote when they fail for want of the CLIs). The one way to go on without
# the CLIs is to ask by name: PTYHUB_SKIP=ai-cli skips this install and the
# tests that need it (they report the skip); under CI=true it is refused.
set -uo pipefail
cd "$(dirname "$0")"
dir=${PTYHUB_AI_CLIS:-.tools/ai-clis}
packages=(
  @anthropic-ai/claude-code@2.1.197
  @openai/codex@0.169.0
  @google/gemini-cli@0.61.0
)
fail() {
  mkdir -p "$dir"
  printf '%s\n' "$*" | tee "$dir/FAILED" >&2
  echo "tests/install-ai-clis.sh failed; to run the suite without the AI CLI tests, set PTYHUB_SKIP=ai-cli (refused under CI=true)" >&2
  exit 1
}
if [[ ",${PTYHUB_SKIP:-}," =~ [,\ ]ai-cli[,\ ] ]]; then
  if [ "${CI:-}" = true ]; then
    echo "PTYHUB_SKIP=${PTYHUB_SKIP} is refused under CI=true: the AI CLI tests must run" >&2
    exit 1
  fi
  echo "AI CLI install skipped: PTYHUB_SKIP=${PTYHUB_SKIP}"
  exit 0
fi
mkdir -p "$dir"
rm -f "$dir/FAILED"
stamp="${packages[*]}"
if [ -f "$dir/INSTALLED" ] && [ "$(cat "$dir/INSTALLED")" = "$stamp" ] \
  && [ -x "$dir/node_modules/.bin/claude" ] && [ -x "$dir/node_modules/.bin/codex" ] \
  && [ -x "$dir/node_modules/.bin/gemini" ]; then
  echo "AI CLIs already installed in $dir"
  exit 0
fi
[ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
start=$(date +%s)
if ! log=$(npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
  "${packages[@]}" 2>&1); then
  fail "npm install $stamp failed:
$log"
fi
for cli in claude codex gemini; do
  if [ ! -x "$dir/node_modules/.bin/$cli" ]; then
    fail "npm install succeeded but $cli is missing from $dir/node_modules/.bin"
  fi
done
echo "$stamp" >"$dir/INSTALLED"
echo "installed ${packages[*]} in $dir in $(( $(date +%s) - start )) s ($(du -sh "$dir" | cut -f1))"
