#!/usr/bin/env bash
# Runs a command with a PostgreSQL to talk to, exported as DATABASE_URL (and PGHOST/PGPORT/PGUSER).
#
#   scripts/with-postgres.sh swift test
#
# - DATABASE_URL already set: the command runs against that server, nothing else happens.
# - Otherwise: installs postgresql, libpq-dev and pkg-config with apt when they are missing (as
#   root), creates a fresh throwaway cluster in .pgdata/ (ignored by git), starts it on a unix
#   socket only (no TCP port to collide with), runs the command, and stops the server afterwards,
#   also when the command fails or is interrupted. As root the server runs as the `postgres` user,
#   because initdb refuses to run as root.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 64
fi

if [ -n "${DATABASE_URL:-}" ]; then
    exec "$@"
fi

here=$(cd "$(dirname "$0")/.." && pwd)
as_root=0
[ "$(id -u)" -eq 0 ] && as_root=1

find_bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && { pg_config --bindir; return 0; }
    return 1
}

need_install=0
find_bindir >/dev/null || need_install=1
[ -f /usr/include/postgresql/libpq-fe.h ] || need_install=1
command -v pkg-config >/dev/null 2>&1 || need_install=1
if [ "$need_install" -eq 1 ]; then
    if [ "$as_root" -eq 1 ] && command -v apt-get >/dev/null 2>&1; then
        echo "with-postgres: installing postgresql, libpq-dev and pkg-config" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq postgresql libpq-dev pkg-config >/dev/null
    else
        echo "with-postgres: PostgreSQL server binaries, libpq-dev or pkg-config are missing;" \
             "install them (Debian: apt-get install postgresql libpq-dev pkg-config) or set DATABASE_URL" >&2
        exit 69
    fi
fi
bindir=$(find_bindir)

# The cluster lives in .pgdata/ of the repo; the socket in a short /tmp folder (socket paths are
# limited to ~100 bytes).
data="$here/.pgdata"
sock=$(mktemp -d /tmp/pm-pg.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))

run_pg() {
    if [ "$as_root" -eq 1 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

rm -rf "$data"
mkdir -p "$data"
if [ "$as_root" -eq 1 ]; then
    chown postgres: "$data" "$sock"
    # The postgres user must reach the folder; when the repo sits under a private home, use /tmp.
    if ! runuser -u postgres -- test -w "$data"; then
        rmdir "$data"
        data=$(mktemp -d /tmp/pm-pgdata.XXXXXX)
        chown postgres: "$data"
    fi
fi
chmod 700 "$data"

cleanup() {
    local status=$?
    run_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$sock"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_pg "$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$sock/initdb.log" 2>&1 \
    || { cat "$sock/initdb.log" >&2; exit 70; }
# A throwaway cluster: durability is traded for speed (fsync off). Figures of the benchmark
# compare against a COPY baseline on the same server, so the ratios stay fair.
run_pg "$bindir/pg_ctl" -D "$data" -w -l "$data/server.log" \
    -o "-c listen_addresses='' -k $sock -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$data/server.log" >&2; exit 70; }

export PGHOST="$sock" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
export DATABASE_URL="postgresql:///postgres?host=$sock&port=$port&user=postgres"
export PODIO_MIRROR_PGDATA="$data"
set +e
"$@"
status=$?
set -e
exit "$status"
