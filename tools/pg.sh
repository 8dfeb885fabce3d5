#!/bin/bash
# pg.sh: a private PostgreSQL 15 cluster in a directory, reachable only
# through a unix socket inside it.  Used by `make run` (var/pg), by
# `make test` (build/test-pg) and by the test harness (private clusters).
#
#   pg.sh start DIR        initdb on first use (role and database "fedi"),
#                          then start the server unless it is running
#   pg.sh stop DIR         stop the server if it is running
#   pg.sh destroy DIR      stop it and remove DIR
#   pg.sh status DIR       exit 0 when the server is running
#   pg.sh migrate DIR DB   apply sql/NNNN_*.sql to database DB
#   pg.sh psql DIR ARGS    psql as the superuser "postgres"
#   pg.sh host DIR         print the socket directory (libpq host=)
#   pg.sh port DIR         print the port number (names the socket file)
#
# Layout of DIR: data/ (the cluster), run/ (the socket), log (server log),
# port.  Authentication is "trust": whoever can reach run/ may connect, so
# the directory's permissions are the access control.
#
# PostgreSQL refuses to run as root: as root the server binaries run as the
# "postgres" user and DIR is handed to it; otherwise they run as the
# invoking user.  FEDI_PGPORT chooses the port at initdb time (default
# 5432; each cluster has its own socket directory, so ports may repeat).

set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TOP=$(cd "$(dirname "$0")/.." && pwd)

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

chown_pg() {
    if [ "$(id -u)" = 0 ]; then
        chown "$@"
    fi
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# As root, the cluster's files belong to "postgres", which must be able to
# reach them; nginx workers ("nobody") must reach the socket.  A directory
# under a private home (/root/...) is not reachable: keep the cluster in
# /var/tmp then, and leave a symlink where it was asked for.
resolve_dir() {
    local dir=$1 real
    if [ "$(id -u)" = 0 ] && [ ! -e "$dir" ]; then
        mkdir -p "$dir"
        if ! runuser -u postgres -- test -x "$dir" \
            || ! runuser -u nobody -- test -x "$dir"
        then
            rmdir "$dir"
            real=/var/tmp/ngx_fedi-pg-$(echo "$(realpath -m "$dir")" \
                                        | md5sum | cut -c1-12)
            mkdir -p "$real"
            ln -s "$real" "$dir"
        fi
    fi
    mkdir -p "$dir"
    realpath "$dir"
}

pg_running() {
    [ -f "$1/data/PG_VERSION" ] \
        && as_pg "$PGBIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

cmd_start() {
    local dir port sock
    dir=$(resolve_dir "$1")
    sock=$dir/run

    if [ ${#sock} -gt 90 ]; then
        die "$sock is too long for a unix socket path; use a shorter directory"
    fi

    chown_pg postgres: "$dir"
    chmod 0755 "$dir"

    if [ ! -f "$dir/data/PG_VERSION" ]; then
        port=${FEDI_PGPORT:-5432}
        rm -rf "$dir/data" "$dir/run"
        mkdir -p "$dir/run"
        echo "$port" >"$dir/port"
        chown_pg -R postgres: "$dir"
        as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
            -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        cat >>"$dir/data/postgresql.conf" <<EOF

# ngx_fedi: unix socket only, see tools/pg.sh
listen_addresses = ''
unix_socket_directories = '$sock'
unix_socket_permissions = 0777
port = $port
max_connections = 200
shared_buffers = ${FEDI_PG_SHARED_BUFFERS:-64MB}
fsync = ${FEDI_PG_FSYNC:-on}
synchronous_commit = ${FEDI_PG_SYNC:-on}
full_page_writes = ${FEDI_PG_FSYNC:-on}
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
EOF
        fresh=1
    else
        fresh=0
        chown_pg -R postgres: "$dir"
    fi

    mkdir -p "$dir/run"
    chmod 0755 "$dir/run"
    chown_pg postgres: "$dir/run"

    if ! pg_running "$dir"; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
            -o "-c unix_socket_directories='$sock'" start >/dev/null \
            || { tail -20 "$dir/log" >&2; die "PostgreSQL did not start"; }
    fi

    if [ "$fresh" = 1 ]; then
        psql_super "$dir" -d postgres -c "CREATE ROLE fedi LOGIN" \
            -c "CREATE DATABASE fedi OWNER fedi" >/dev/null
    fi
}

cmd_stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    dir=$(realpath "$dir")
    if pg_running "$dir"; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
}

psql_super() {
    local dir=$1
    shift
    psql -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$(cat "$dir/port")" \
        -U postgres "$@"
}

# Migrations: fedictl owns them once it is built; until then the same
# bookkeeping (schema_migrations.version = the file's NNNN) done with psql.
cmd_migrate() {
    local dir db f v conninfo
    dir=$(realpath "$1")
    db=$2
    conninfo="host=$dir/run port=$(cat "$dir/port") dbname=$db user=fedi"

    if [ -x "$TOP/build/fedictl" ] \
        && [[ $("$TOP/build/fedictl" help 2>&1 </dev/null) == *"db migrate"* ]]
    then
        FEDI_DB="$conninfo" "$TOP/build/fedictl" db migrate
        return
    fi

    export PGOPTIONS='-c client_min_messages=warning'
    psql -X -q -v ON_ERROR_STOP=1 "$conninfo" -c \
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version text PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now())"
    for f in "$TOP"/sql/[0-9][0-9][0-9][0-9]_*.sql; do
        [ -f "$f" ] || continue
        v=$(basename "$f" | cut -d_ -f1)
        if [ -n "$(psql -X -At "$conninfo" -c \
                   "SELECT 1 FROM schema_migrations WHERE version = '$v'")" ]
        then
            continue
        fi
        echo "migrating $db: $(basename "$f")"
        { echo "BEGIN;"; cat "$f";
          echo ";INSERT INTO schema_migrations (version) VALUES ('$v');";
          echo "COMMIT;"; } \
            | psql -X -q -v ON_ERROR_STOP=1 "$conninfo" >/dev/null \
            || die "migration $(basename "$f") failed"
    done
}

cmd=${1:-}
[ $# -ge 2 ] || die "usage: pg.sh start|stop|destroy|status|migrate|psql|host|port DIR ..."
dir=$2
shift 2

case $cmd in
start)   cmd_start "$dir" ;;
stop)    cmd_stop "$dir" ;;
destroy) cmd_stop "$dir"
         if [ -L "$dir" ]; then rm -rf "$(realpath "$dir")"; fi
         rm -rf "$dir" ;;
status)  pg_running "$(realpath "$dir")" ;;
migrate) cmd_migrate "$dir" "${1:?database name}" ;;
psql)    psql_super "$(realpath "$dir")" "$@" ;;
host)    echo "$(realpath "$dir")/run" ;;
port)    cat "$(realpath "$dir")/port" ;;
*)       die "unknown command $cmd" ;;
esac
