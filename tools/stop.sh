#!/bin/bash
# stop.sh [--nginx-only]: stop the embedded instance of $FEDI_VAR (default
# var/ in the checkout): nginx first, then PostgreSQL.  Quietly does
# nothing for what is not running.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
VAR=${FEDI_VAR:-$TOP/var}

[ -d "$VAR" ] || exit 0
VAR=$(realpath "$VAR")
pidfile=$VAR/nginx/nginx.pid

# nginx: graceful quit (finishes in-flight requests), then terminate.
if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && grep -q nginx "/proc/$pid/cmdline" 2>/dev/null
    then
        kill -QUIT "$pid"
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            [ "$i" = 50 ] && kill -TERM "$pid" 2>/dev/null
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "nginx stopped (pid $pid)"
    fi
    rm -f "$pidfile"
fi

[ "${1:-}" = --nginx-only ] && exit 0

if [ -d "$VAR/pg" ] && "$TOP/tools/pg.sh" status "$VAR/pg"; then
    "$TOP/tools/pg.sh" stop "$VAR/pg"
    echo "PostgreSQL stopped"
fi
