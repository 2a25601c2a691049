#!/usr/bin/env bash
# The benchmark (`make bench`): runs podio-bench, which serves the simulator in-process and runs
# the release build of podio-mirror against it and the PostgreSQL of DATABASE_URL.
#
#   scripts/with-postgres.sh scripts/bench.sh [--items N] [--memory-items SMALL,LARGE] [--wide-items N] [--no-reader] [--json PATH]
#
# Expects `swift build -c release` to have run (the Makefile does it). The figures are also
# written as JSON, to .build/bench.json unless --json is given.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

if [ -z "${DATABASE_URL:-}" ]; then
    echo "bench: DATABASE_URL is not set; run it through scripts/with-postgres.sh (make bench)" >&2
    exit 64
fi
for bin in podio-bench podio-mirror; do
    if [ ! -x ".build/release/$bin" ]; then
        echo "bench: .build/release/$bin is missing; run swift build -c release first" >&2
        exit 69
    fi
done

args=("$@")
has_json=0
for a in "${args[@]+"${args[@]}"}"; do
    case "$a" in --json|--json=*) has_json=1 ;; esac
done
[ "$has_json" -eq 1 ] || args+=(--json "$here/.build/bench.json")

psql_bin=$(command -v psql || true)
if [ -n "$psql_bin" ]; then
    echo "PostgreSQL: $(psql "$DATABASE_URL" -Atc 'SHOW server_version' 2>/dev/null || echo unknown)" >&2
fi
exec .build/release/podio-bench --mirror .build/release/podio-mirror "${args[@]}"
