#!/usr/bin/env bash
# Redis, three ptyhub nodes and nginx on one machine, as one service:
#   nginx http://127.0.0.1:8080  →  round robin over nodes 7681, 7682, 7683
#   Redis 127.0.0.1:6390 (its own, no persistence; not the system service)
# Every process is started here and stopped by its pid on Ctrl-C.
#
#   PTYHUB=target/release/ptyhub bash examples/cluster/run-cluster.sh
#
# Needs redis-server and nginx (Debian: apt-get install -y redis-server nginx).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ptyhub=${PTYHUB:-ptyhub}
command -v "$ptyhub" >/dev/null || { echo "no ptyhub binary: set PTYHUB=path/to/ptyhub" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install -y redis-server" >&2; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx is missing: apt-get install -y nginx" >&2; exit 1; }

# One token for every node.
export PTYHUB_TOKEN=${PTYHUB_TOKEN:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}
dir=$(mktemp -d -t ptyhub-cluster-XXXXXX)
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT INT TERM

cat >"$dir/redis.conf" <<CONF
port 6390
bind 127.0.0.1
save ""
appendonly no
dir $dir
CONF
redis-server "$dir/redis.conf" >"$dir/redis.log" 2>&1 &
pids+=($!)

for i in 1 2 3; do
  port=$((7680 + i))
  cat >"$dir/node-$i.toml" <<CONF
bind = "127.0.0.1:$port"
[cluster]
redis_url = "redis://127.0.0.1:6390/0"
node = "node-$i"
advertise_url = "http://127.0.0.1:$port"
CONF
  XDG_RUNTIME_DIR="$dir/run-$i" "$ptyhub" serve --config "$dir/node-$i.toml" \
    >"$dir/node-$i.out" 2>"$dir/node-$i.log" &
  pids+=($!)
done

mkdir -p "$dir/nginx/tmp"
cp "$here/nginx.conf" "$dir/nginx/nginx.conf"
"$nginx" -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf" &
pids+=($!)

echo "ptyhub cluster: http://127.0.0.1:8080/?token=$PTYHUB_TOKEN"
echo "  logs in $dir; try: PTYHUB_URL=http://127.0.0.1:8080 $ptyhub ls"
echo "  kill -9 a node (its sessions become error/node_lost within 15 s), or Redis (each node serves its own)"
echo "  Ctrl-C stops everything"
wait
