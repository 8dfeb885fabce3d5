#!/bin/bash
# The streaming API's part of `make bench` (issue 8), called by
# tools/bench.sh with the bench cluster's conninfo and build directory:
# its own nginx, sized for many connections (worker_connections,
# worker_rlimit_nofile, the client's ulimit -n), then
# tools/bench_stream.mjs: BENCH_STREAM_IDLE (10,000) idle WebSocket
# streams held, memory per connection, and the delay from a post to its
# event at BENCH_STREAM_SUBS (1,000) subscribers of public:local.
#
#   tools/bench_stream.sh CONNINFO BENCH_DIR MODULE

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CONNINFO=$1
B=$2/stream
MODULE=$3
IDLE=${BENCH_STREAM_IDLE:-10000}
SUBS=${BENCH_STREAM_SUBS:-1000}
NODE=$TOP/t/clients/node_modules/.bin/node

if [ ! -x "$NODE" ]; then
    echo "bench: streaming skipped (t/clients/node_modules is missing)"
    exit 0
fi

# a token per stream (a token has at most 32 streams per worker):
# stream1..stream10000 for accounts 1..10000, and a poster nobody follows
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" <<'SQL'
INSERT INTO users (account_id, email, confirmed_at)
SELECT g, 'u' || g || '@bench.test', now() FROM generate_series(2, 10000) g
ON CONFLICT DO NOTHING;
INSERT INTO accounts (id, username, display_name)
VALUES (10100, 'streamposter', 'Stream poster') ON CONFLICT DO NOTHING;
INSERT INTO users (account_id, email, confirmed_at)
VALUES (10100, 'streamposter@bench.test', now()) ON CONFLICT DO NOTHING;
INSERT INTO oauth_access_tokens (digest, application_id, user_id, scopes)
SELECT sha256(('stream' || u.account_id)::bytea), 1, u.id, 'read write'
  FROM users u WHERE u.account_id BETWEEN 1 AND 10000
ON CONFLICT DO NOTHING;
INSERT INTO oauth_access_tokens (digest, application_id, user_id, scopes)
SELECT sha256('streamposter'::bytea), 1, u.id, 'read write'
  FROM users u WHERE u.account_id = 10100
ON CONFLICT DO NOTHING;
ANALYZE users; ANALYZE oauth_access_tokens;
SQL

rm -rf "$B"
mkdir -p "$B/logs"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# 2 workers, each of which may get most of the streams: as many
# descriptors as the hard limit allows (raising it needs privileges)
NOFILE=$(ulimit -Hn)
[ "$NOFILE" = unlimited ] && NOFILE=65536
WCONN=$(( NOFILE - 256 < 16384 ? NOFILE - 256 : 16384 ))
if [ $(( 2 * WCONN )) -lt $(( IDLE + 512 )) ]; then
    echo "bench: ulimit -Hn $NOFILE is too low for $IDLE streams" >&2
    exit 1
fi

cat >"$B/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 2;
worker_rlimit_nofile $NOFILE;
pid $B/nginx.pid;
error_log $B/logs/error.log warn;
events { worker_connections $WCONN; }
http {
    access_log off;
    client_body_temp_path $B/body;
    proxy_temp_path $B/proxy;
    fastcgi_temp_path $B/fastcgi;
    uwsgi_temp_path $B/uwsgi;
    scgi_temp_path $B/scgi;

    fedi_db "$CONNINFO";
    fedi_domain 127.0.0.1:$PORT;
    fedi_https off;
    fedi_rate_limit 0;

    server {
        listen 127.0.0.1:$PORT backlog=4096 reuseport;
        location / { fedi; }
    }
}
CONF

/usr/sbin/nginx -p "$B" -c "$B/nginx.conf"
trap 'kill "$(cat "$B/nginx.pid")" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/api/v1/streaming/health" >/dev/null && break
    sleep 0.1
done

POSTMASTER=$(head -1 "$2/pg/data/postmaster.pid")

ulimit -n "$(ulimit -Hn)"
OUT=$("$NODE" "$TOP/tools/bench_stream.mjs" "$PORT" "$(cat "$B/nginx.pid")" \
      "$POSTMASTER" "$IDLE" "$SUBS")

echo
echo "$OUT" | awk '
/^IDLE/ {
    printf "%-44s %10s %9s %9s\n", "streaming: " $2 " idle WebSockets held", "", "", ""
    printf "%-44s %10s %9s %9s\n", "  opened in " $3 " s; nginx " $8 " -> " $4 " MB", "", "", ""
    printf "%-44s %10s %9s %9s\n", "  nginx KB per connection (PSS)", $6, "", ""
    printf "%-44s %10s %9s %9s\n", "  PostgreSQL " $9 " -> " $5 " MB; KB/conn", $7, "", ""
}
/^DELAY/ {
    printf "%-44s %10s %9s %9s\n", "", "events", "p50 ms", "p99 ms"
    printf "%-44s %10s %9s %9s\n", "post -> event at " $2 " public:local subs", $4, $5, $6
    printf "%-44s %10s %9s %9s\n", "  (" $3 " posts; max " $7 " ms)", "", "", ""
    if ($4 < $2 * $3) { print "bench: events missing" > "/dev/stderr"; bad = 1 }
}
END { exit bad }'

if grep -E '\[(alert|crit|emerg)\]' "$B/logs/error.log"; then
    echo "bench: streaming nginx logged alerts" >&2
    exit 1
fi
