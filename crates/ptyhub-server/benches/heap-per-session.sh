#!/usr/bin/env bash
# Memory per idle session of the release server, without any client: starts
# `target/release/ptyhub serve` on a free loopback port, creates N `cat`
# sessions over HTTP one after the other (each echoing one line, so that
# its screen is parsed), waits, and prints the server's PSS before and with
# them (`/proc/<pid>/smaps_rollup`). With HEAPTRACK=1 the server runs under
# heaptrack (Debian's `heaptrack`) and the allocation sites holding the
# most memory at the peak are printed, grouped by their two frames nearest
# the allocation in ptyhub's or the vendored vt100's files.
#
#   cargo build --release -p ptyhub
#   bash crates/ptyhub-server/benches/heap-per-session.sh [N]        # N = 500
#   FULL=1 bash crates/ptyhub-server/benches/heap-per-session.sh 500
#   HEAPTRACK=1 bash crates/ptyhub-server/benches/heap-per-session.sh 300
set -euo pipefail
n=${1:-500}
# FULL=1: each session first fills its 24 rows with text (`seq`), the
# screen of a busy program; else it shows one echoed line.
if [ "${FULL:-}" = 1 ]; then
  command='{"command":["sh","-c","seq 1 30; exec cat"]}'
else
  command='{"command":["cat"]}'
fi
repo=$(cd "$(dirname "$0")/../../.." && pwd)
bin=${PTYHUB_BIN:-$repo/target/release/ptyhub}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'allow_arbitrary_commands = true\nmax_sessions = %d\n' $((n + 10)) > "$dir/config.toml"
run=("$bin" serve --bind "127.0.0.1:$port" --config "$dir/config.toml")
if [ "${HEAPTRACK:-}" = 1 ]; then run=(heaptrack -o "$dir/trace" "${run[@]}"); fi
PTYHUB_TOKEN=$token XDG_RUNTIME_DIR=$dir HOME=$dir "${run[@]}" > "$dir/out.log" 2> "$dir/err.log" < /dev/null &
for _ in $(seq 1 100); do grep -q listening "$dir/err.log" && break; sleep 0.2; done
server=$(pgrep -f "^$bin serve --bind 127.0.0.1:$port" | head -1)
pss() { awk '/^Pss:/{print $2}' "/proc/$server/smaps_rollup"; }
sleep 1
before=$(pss)
api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port$1"; }
for _ in $(seq 1 "$n"); do
  id=$(api /api/sessions "$command" | sed -E 's/^\{"id":"([^"]+)".*/\1/')
  api "/api/sessions/$id/input" '{"data":"x\r"}' > /dev/null
done
sleep 4
with=$(pss)
echo "server PSS: idle $before KiB, with $n idle sessions $with KiB: $(( (with - before) / n )) KiB per session"
kill -TERM "$server"
while kill -0 "$server" 2>/dev/null; do sleep 0.2; done
if [ "${HEAPTRACK:-}" = 1 ]; then
  while [ ! -s "$dir/trace.zst" ] || pgrep -f "heaptrack.*$dir/trace" > /dev/null; do sleep 0.5; done
  heaptrack_print -f "$dir/trace.zst" -F "$dir/stacks.txt" --flamegraph-cost-type peak > /dev/null
  # A frame is `function (file.rs)`: a site is the two frames nearest the
  # allocation whose file is one of ptyhub's or the vendored vt100's.
  ours=$(find "$repo/crates" "$repo/vendor/vt100/src" -name '*.rs' -printf '%f\n' | grep -v -x -E 'mod.rs|lib.rs|main.rs' | sort -u | tr '\n' ' ')
  python3 - "$dir/stacks.txt" "$ours" <<'PY'
import collections, re, sys
files = set(sys.argv[2].split())
peak = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, cost = line.rstrip().rpartition(' ')
    frames = [f for f in stack.split(';') if (m := re.search(r'\(([^()]+\.rs)\)$', f)) and m.group(1) in files]
    site = ' <- '.join(reversed(frames[-2:])) if frames else '(outside ptyhub and vt100)'
    peak[site] += int(cost)
total = sum(peak.values())
print(f"heap at the peak: {total / 1e6:.2f} MB")
for site, cost in peak.most_common(8):
    print(f"{cost / 1e6:8.2f} MB  {site}")
PY
fi
