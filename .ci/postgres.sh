#!/usr/bin/env bash
# A throwaway PostgreSQL server on a Unix socket in a temp dir (no TCP port), for the tests and benches.
#   eval "$(.ci/postgres.sh start)"   starts one and prints `export WORKBENCH_TEST_PG=...` (and PGDIR) to eval
#   .ci/postgres.sh stop "$PGDIR"     stops it and removes its files
# As root the server runs as the `postgres` user: pg_ctl refuses to run as root.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/pg_ctl" ] || { echo "PostgreSQL not found: apt-get install -y postgresql" >&2; exit 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
    dir=$(mktemp -d /tmp/workbench-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-k $dir -c listen_addresses='' -c max_connections=200" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    "$PGBIN/createdb" -h "$dir" -U postgres wb
    echo "export PGDIR=$dir"
    echo "export WORKBENCH_TEST_PG='postgresql+psycopg://postgres@/wb?host=$dir'"
    ;;
stop)
    dir=${2:?usage: $0 stop DIR}
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: eval \"\$($0 start)\"  |  $0 stop DIR" >&2
    exit 2
    ;;
esac
