#!/usr/bin/env bash
# Installs the AI coding CLIs that tests/ai_cli.rs drives (Claude Code,
# Codex, Gemini CLI) from npm into tests/.tools/ai-clis (not committed).
# The versions are pinned so that the screens the tests compare stay put;
# bump them together with the tests. About 740 MB on disk (Codex and Claude
# Code ship native binaries), 20-60 s.
#
# When the install fails (no registry, no network), the reason is written to
# tests/.tools/ai-clis/FAILED and the script still exits 0: the tests that
# need the CLIs then skip with that message. Nothing else makes them skip.
set -uo pipefail
cd "$(dirname "$0")"
dir=.tools/ai-clis
packages=(
  @anthropic-ai/claude-code@2.1.197
  @openai/codex@0.169.0
  @google/gemini-cli@0.61.0
)
mkdir -p "$dir"
rm -f "$dir/FAILED"
stamp="${packages[*]}"
if [ -f "$dir/INSTALLED" ] && [ "$(cat "$dir/INSTALLED")" = "$stamp" ] \
  && [ -x "$dir/node_modules/.bin/claude" ] && [ -x "$dir/node_modules/.bin/codex" ] \
  && [ -x "$dir/node_modules/.bin/gemini" ]; then
  echo "AI CLIs already installed in tests/$dir"
  exit 0
fi
[ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
start=$(date +%s)
if ! log=$(npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
  "${packages[@]}" 2>&1); then
  printf 'npm install %s failed:\n%s\n' "$stamp" "$log" | tee "$dir/FAILED" >&2
  exit 0
fi
for cli in claude codex gemini; do
  if [ ! -x "$dir/node_modules/.bin/$cli" ]; then
    echo "npm install succeeded but $cli is missing from $dir/node_modules/.bin" | tee "$dir/FAILED" >&2
    exit 0
  fi
done
echo "$stamp" >"$dir/INSTALLED"
echo "installed ${packages[*]} in tests/$dir in $(( $(date +%s) - start )) s ($(du -sh "$dir" | cut -f1))"
