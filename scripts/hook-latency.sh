#!/usr/bin/env bash
# How long a change in Podio (the simulator) takes to reach its app table through webhooks: the
# simulator with loopback hooks, a first sync, `run --listen` with a reconciliation interval of
# an hour (so only hooks can bring the changes), `hooks install`, then N edits one after the
# other, each timed from the edit's answer to the row in podio_apps (polled every 10 ms).
#
#   scripts/with-postgres.sh scripts/hook-latency.sh [N]     (after `swift build`)
set -euo pipefail
n=${1:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.build/debug"
q() { psql "$DATABASE_URL" -qtA "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sim_port=$(free_port)
listen_port=$(free_port)
work=$(mktemp -d)
"$bin/podio-simulator" --port "$sim_port" --items 500 --allow-loopback-hooks >"$work/sim.log" 2>&1 &
sim=$!
worker=
cleanup() {
    [ -n "$worker" ] && kill "$worker" 2>/dev/null && wait "$worker" 2>/dev/null || true
    kill "$sim" 2>/dev/null || true
    wait "$sim" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export PODIO_API_URL="http://127.0.0.1:$sim_port" PODIO_CLIENT_ID=podio-mirror-dev PODIO_CLIENT_SECRET=sim-client-secret
export PODIO_USERNAME=demo@example.com PODIO_PASSWORD=sim-password PODIO_COMMENTS=off
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$sim_port/_sim/stats" >/dev/null && break; sleep 0.1; done
"$bin/podio-mirror" migrate >/dev/null
"$bin/podio-mirror" sync >/dev/null
"$bin/podio-mirror" run --every 1h --reconcile-every 1h --listen "127.0.0.1:$listen_port" 2>"$work/run.log" &
worker=$!
# The worker's first run (a delta of every app) ends before the hooks go in.
for _ in $(seq 300); do [ "$(q -c "SELECT count(*) FROM podio.sync_runs WHERE status <> 'running'")" -ge 2 ] && break; sleep 0.1; done
"$bin/podio-mirror" hooks install --url "http://127.0.0.1:$listen_port" >/dev/null
read -r app table <<<"$(q -F ' ' -c "SELECT app_id, table_name FROM podio.apps ORDER BY app_id LIMIT 1")"
mapfile -t items < <(q -c "SELECT item_id FROM podio.items WHERE app_id = $app ORDER BY item_id LIMIT $n")
for i in $(seq 0 $((n - 1))); do
    title="latency-$i-$RANDOM"
    curl -sf -X POST -H 'Content-Type: application/json' -d "{\"title\":\"$title\"}" \
        "http://127.0.0.1:$sim_port/_sim/items/${items[$i]}/edit" >/dev/null
    start=$(date +%s%N)
    until [ "$(q -c "SELECT count(*) FROM podio_apps.\"$table\" WHERE title = '$title'")" = 1 ]; do
        sleep 0.01
        if [ $(( ($(date +%s%N) - start) / 1000000 )) -gt 30000 ]; then echo "edit $i: not applied in 30 s" >&2; break; fi
    done
    echo $(( ($(date +%s%N) - start) / 1000000 ))
done | sort -n | awk '{ a[NR] = $1 } END { printf "edits %d: median %d ms, p95 %d ms, max %d ms\n", NR, a[int((NR + 1) / 2)], a[int(NR * 0.95 + 0.999)], a[NR] }'
echo "item reads by the event worker: $(q -c "SELECT count(*) FROM podio.api_calls WHERE endpoint = 'GET /item/{item_id}'"), rate-limited calls once every hook was verified: $(q -c "SELECT count(*) FROM podio.api_calls WHERE tier = 'rate_limited' AND called_at > (SELECT max(verified_at) FROM podio.hooks)")"
