#!/usr/bin/env bash
# The demo: a simulated Podio, a throwaway PostgreSQL (from with-postgres.sh), a full sync, some
# edits and deletions in the simulator, a delta sync, `status`, queries on the app tables, and an
# edit arriving through a webhook.
#
#   make demo        (builds, then runs this inside scripts/with-postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=".build/debug"
[ -x "$bin/podio-mirror" ] && [ -x "$bin/podio-simulator" ] || { echo "demo: run 'make demo' (it builds first)" >&2; exit 64; }
: "${DATABASE_URL:?run the demo through scripts/with-postgres.sh (make demo)}"

# A fresh database for the demo, next to whatever else the server holds.
db="podio_mirror_demo"
psql -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
export PGDATABASE="$db"
export DATABASE_URL="postgresql:///$db?host=${PGHOST}&port=${PGPORT}&user=${PGUSER}"

log=$(mktemp)
"$bin/podio-simulator" --port 0 --items 2000 --allow-loopback-hooks >"$log" 2>&1 &
sim=$!
worker=
runlog=$(mktemp)
cleanup() {
    if [ -n "$worker" ]; then kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; fi
    kill "$sim" 2>/dev/null || true
    wait "$sim" 2>/dev/null || true
    rm -f "$log" "$runlog"
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
[ -n "$url" ] || { cat "$log" >&2; echo "demo: the simulator did not start" >&2; exit 69; }

export PODIO_API_URL="$url"
export PODIO_CLIENT_ID=podio-mirror-dev PODIO_CLIENT_SECRET=sim-client-secret
export PODIO_USERNAME=demo@example.com PODIO_PASSWORD=sim-password
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Simulated Podio at $url; PostgreSQL database $db"
step "podio-mirror migrate"
"$bin/podio-mirror" migrate
step "podio-mirror apps"
"$bin/podio-mirror" apps
step "podio-mirror sync   (first run: a full load of every app)"
"$bin/podio-mirror" sync

projects=$(psql -Atc "SELECT app_id FROM podio.apps WHERE url_label = 'projects'")
step "Meanwhile in Podio: 5 items edited, 3 created, 2 deleted in Projects ($projects)"
for id in $(psql -Atc "SELECT item_id FROM podio.items WHERE app_id = $projects ORDER BY item_id LIMIT 5"); do
    curl -sf -X POST "$url/_sim/items/$id/edit" -H 'Content-Type: application/json' -d '{}' >/dev/null
done
curl -sf -X POST "$url/_sim/items" -H 'Content-Type: application/json' -d "{\"app_id\":$projects,\"count\":3}" >/dev/null
for id in $(psql -Atc "SELECT item_id FROM podio.items WHERE app_id = $projects ORDER BY item_id DESC LIMIT 2"); do
    curl -sf -X DELETE "$url/_sim/items/$id" >/dev/null
done
sleep 1

step "podio-mirror sync   (a delta: only what changed, deletions found by an id sweep)"
"$bin/podio-mirror" sync
step "podio-mirror status"
"$bin/podio-mirror" status

step "Query 1: Projects by status (podio_apps.projects)"
psql -c "SELECT status, count(*) AS items, sum(amount) AS amount FROM podio_apps.projects GROUP BY status ORDER BY items DESC"
step "Query 2: budget per month of the deadline, in EUR"
psql -c "SELECT date_trunc('month', deadline)::date AS month, sum(budget) AS budget
         FROM podio_apps.projects WHERE budget_currency = 'EUR' AND deadline IS NOT NULL
         GROUP BY 1 ORDER BY 1 LIMIT 6"

# Webhooks: the scheduler's listener receives Podio's events (here on loopback; against Podio, a
# public HTTPS URL in front of it, see docs/webhooks.md).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "podio-mirror run --every 1h --listen 127.0.0.1:$port   (in the background), then hooks install"
"$bin/podio-mirror" run --every 1h --reconcile-every 1h --listen "127.0.0.1:$port" 2>"$runlog" &
worker=$!
runs=$(psql -Atc "SELECT count(*) FROM podio.sync_runs")
for _ in $(seq 1 300); do
    [ "$(psql -Atc "SELECT count(*) FROM podio.sync_runs WHERE status <> 'running'")" -gt "$runs" ] && break
    sleep 0.1
done
"$bin/podio-mirror" hooks install --url "http://127.0.0.1:$port" | tail -n 1   # (one line per hook above it)
item=$(psql -Atc "SELECT item_id FROM podio.items WHERE app_id = $projects AND deleted_at IS NULL ORDER BY item_id LIMIT 1")
title="Edited in Podio at $(date -u +%H:%M:%S)"
step "Meanwhile in Podio: item $item renamed to \"$title\"; Podio posts item.update to the receiver"
curl -sf -X POST "$url/_sim/items/$item/edit" -H 'Content-Type: application/json' -d "{\"title\":\"$title\"}" >/dev/null
start=$(date +%s%N)
arrived=
for _ in $(seq 1 1000); do
    if [ "$(psql -Atc "SELECT count(*) FROM podio_apps.projects WHERE item_id = $item AND title = '$title'")" = 1 ]; then
        arrived=$(( ($(date +%s%N) - start) / 1000000 )); break
    fi
    sleep 0.01
done
if [ -n "$arrived" ]; then
    echo "The edit was in podio_apps.projects ${arrived} ms after Podio answered it (one GET /item, no listing)."
else
    echo "The edit did not arrive within 10 s; the receiver's log:"; cat "$runlog"
fi
psql -c "SELECT item_id, title, revision FROM podio_apps.projects WHERE item_id = $item"
kill "$worker" 2>/dev/null || true
wait "$worker" 2>/dev/null || true
worker=

step "Done. The demo's database and simulator stop now."
