#!/bin/bash
# make bench: the hot paths beside baselines measured in the same run.
#
# Starts its own PostgreSQL (build/bench/pg) and nginx with the module on a
# free loopback port, seeds 10,000 accounts and a token, and measures with
# wrk (Debian): each endpoint beside nginx serving the same bytes as a
# static file, and the endpoint that needs a query beside pgbench running
# the same prepared SQL.  Prints requests/s, median and p99 latency, and
# the ratios.  The machine is shared and noisy: read ratios, not absolutes.
#
# BENCH_SECONDS (default 8) and BENCH_CONNS (default 64) tune the runs.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build/bench
SECS=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNS:-64}
MODULE=$TOP/build/ngx_fedi_module.so

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cleanup() {
    if [ -f "$B/nginx/nginx.pid" ]; then
        kill "$(cat "$B/nginx/nginx.pid")" 2>/dev/null || true
        sleep 0.5
    fi
    "$TOP/tools/pg.sh" stop "$B/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$B/nginx"
mkdir -p "$B/nginx/static" "$B/nginx/logs"

# a fresh cluster each run: the numbers come from the same data
"$TOP/tools/pg.sh" destroy "$B/pg" >/dev/null 2>&1 || true
FEDI_PG_FSYNC=off FEDI_PG_SYNC=off "$TOP/tools/pg.sh" start "$B/pg"
PGHOST=$("$TOP/tools/pg.sh" host "$B/pg")
PGPORT=$("$TOP/tools/pg.sh" port "$B/pg")
"$TOP/tools/pg.sh" migrate "$B/pg" fedi >/dev/null
CONNINFO="host=$PGHOST port=$PGPORT dbname=fedi user=fedi"

# seed: accounts 1..10000 (explicit ids so both sides pick the same rows),
# one user with a known token
TOKEN=benchbenchbenchbenchbenchbenchbenchbench123
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" <<SQL

INSERT INTO accounts (id, username, display_name, note, statuses_count,
                      followers_count, following_count, fields)
SELECT g, 'user' || g, 'User ' || g, '<p>Hello, I am user ' || g || '</p>',
       g % 100, g % 1000, g % 150,
       '[{"name": "site", "value": "example", "verified_at": null}]'
  FROM generate_series(1, 10000) g;
INSERT INTO users (id, account_id, email, confirmed_at)
VALUES (1, 1, 'user1@bench.test', now());
INSERT INTO oauth_applications (id, name, redirect_uris, scopes, client_id,
                                client_secret)
VALUES (1, 'bench', '{urn:ietf:wg:oauth:2.0:oob}', 'read write', 'c', 's');
INSERT INTO oauth_access_tokens (digest, application_id, user_id, scopes)
VALUES (sha256('$TOKEN'), 1, 1, 'read write');
ANALYZE accounts; ANALYZE users; ANALYZE oauth_access_tokens;
SQL

PORT=$(free_port)
cat >"$B/nginx/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 2;
pid $B/nginx/nginx.pid;
error_log $B/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $B/nginx/body;
    proxy_temp_path $B/nginx/proxy;
    fastcgi_temp_path $B/nginx/fastcgi;
    uwsgi_temp_path $B/nginx/uwsgi;
    scgi_temp_path $B/nginx/scgi;
    keepalive_requests 1000000;

    fedi_db "$CONNINFO";
    fedi_domain 127.0.0.1:$PORT;
    fedi_https off;
    fedi_contact_email admin@bench.test;
    fedi_rate_limit 0;   # one token hammers here

    server {
        listen 127.0.0.1:$PORT;
        location / { fedi; }
        location /static/ {
            root $B/nginx;
            default_type "application/json; charset=utf-8";
        }
    }
}
CONF

/usr/sbin/nginx -p "$B/nginx" -c "$B/nginx/nginx.conf"
URL=http://127.0.0.1:$PORT
for _ in $(seq 50); do
    curl -sf "$URL/health" >/dev/null && break
    sleep 0.1
done

AUTH="Authorization: Bearer $TOKEN"
curl -sf "$URL/api/v2/instance" >"$B/nginx/static/instance.json"
curl -sf "$URL/nodeinfo/2.0" >"$B/nginx/static/nodeinfo.json"
curl -sf -H "$AUTH" "$URL/api/v1/accounts/verify_credentials" \
    >"$B/nginx/static/credentials.json"
curl -sf "$URL/api/v1/accounts/42" >"$B/nginx/static/account.json"

cat >"$B/account.lua" <<'LUA'
request = function()
    return wrk.format("GET", "/api/v1/accounts/" .. math.random(1, 10000))
end
LUA

# wrk: requests/s, p50 and p99 in ms
measure() {
    local out conns=$CONNS
    if [ "${1:-}" = -c16 ]; then conns=16; shift; fi
    out=$(wrk -t2 -c"$conns" -d"${SECS}s" --latency "$@" 2>&1)
    if echo "$out" | grep -q 'Non-2xx'; then
        echo "$out" >&2
        echo "bench: non-2xx answers for $*" >&2
        exit 1
    fi
    echo "$out" | awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000;
            if (v ~ /ms$/) return v + 0;
            if (v ~ /s$/)  return v * 1000;
            return v;
        }
        /^ *50%/ { p50 = ms($2) }
        /^ *99%/ { p99 = ms($2) }
        /^Requests\/sec/ { rps = $2 }
        END { printf "%.0f %.2f %.2f\n", rps, p50, p99 }'
}

row() {
    printf '%-44s %10s %9s %9s %8s\n' "$@"
}

report() {
    local name=$1 base=$2 ours=$3 bname=$4
    read -r brps bp50 bp99 <<<"$base"
    read -r rps p50 p99 <<<"$ours"
    row "$bname" "$brps" "$bp50" "$bp99" ""
    row "$name" "$rps" "$p50" "$p99" \
        "$(awk -v a="$rps" -v b="$brps" 'BEGIN { printf "%.2f", a / b }')"
}

echo
echo "ngx_fedi bench: $(nproc) cores, wrk -t2 -c$CONNS -d${SECS}s, $(date -u +%FT%TZ)"
row "" "req/s" "p50 ms" "p99 ms" "ratio"

report "GET /api/v2/instance" "$(measure "$URL/static/instance.json")" \
       "$(measure "$URL/api/v2/instance")" "static file, same bytes"
report "GET /nodeinfo/2.0" "$(measure "$URL/static/nodeinfo.json")" \
       "$(measure "$URL/nodeinfo/2.0")" "static file, same bytes"
report "GET /api/v1/accounts/verify_credentials" \
       "$(measure "$URL/static/credentials.json")" \
       "$(measure -H "$AUTH" "$URL/api/v1/accounts/verify_credentials")" \
       "static file, same bytes"
report "GET /api/v1/accounts/:id (random of 10k)" \
       "$(measure "$URL/static/account.json")" \
       "$(measure -s "$B/account.lua" "$URL")" "static file, one account"

# the same prepared statement through pgbench, as many clients as the
# module has connections (2 workers x fedi_db_pool 4)
SQL=$(cd "$TOP/ngx_fedi_module" && printf '#include "fedi_sql_cols.h"\nFEDI_ACCOUNT_COLS\n' \
      | cpp -P -I. - | tr -d '\n' | sed 's/" *"//g; s/^ *"//; s/" *$//; s/\\"/"/g')
# (the account query is the module's ACCOUNT_BY_ID)
{
    echo '\set id random(1, 10000)'
    echo "SELECT $SQL FROM accounts a WHERE a.id = :id;"
} >"$B/account.pgbench"
PGB=$(pgbench -n -M prepared -c 8 -j 2 -T "$SECS" -r \
        -h "$PGHOST" -p "$PGPORT" -U fedi -f "$B/account.pgbench" fedi 2>&1)
PTPS=$(echo "$PGB" | awk '/^tps/ { printf "%.0f", $3 }')
PLAT=$(echo "$PGB" | awk '/latency average/ { print $4 }')
read -r rps _ _ <<<"$(measure -s "$B/account.lua" "$URL")"
row "pgbench, same SELECT, 8 clients" "$PTPS" "$PLAT" "(avg)" ""
row "GET /api/v1/accounts/:id vs pgbench" "$rps" "" "" \
    "$(awk -v a="$rps" -v b="$PTPS" 'BEGIN { printf "%.2f", a / b }')"

# one login: bcrypt (cost 10) on nginx's thread pool, and the event loop
# meanwhile: /api/v2/instance latency alone and during a stream of logins
"$TOP/build/fedictl" --db "$CONNINFO" accounts create benchlogin \
    --email login@bench.test --password 'correct horse battery' \
    --confirmed --approve >/dev/null
LOGIN="grant_type=password&client_id=c&client_secret=s&username=login@bench.test&password=correct+horse+battery&scope=read"
for _ in $(seq 20); do
    curl -s -o /dev/null -w '%{time_total}\n' -d "$LOGIN" "$URL/oauth/token"
done | sort -n | awk '{ a[NR] = $1 } END {
    printf "%-44s %10s %9.1f %9s\n", "one login (password grant, bcrypt)", "",
           a[int((NR + 1) / 2)] * 1000, "" }'

alone=$(measure -c16 "$URL/api/v2/instance")
(
    end=$((SECONDS + SECS + 2))
    while [ $SECONDS -lt $end ]; do
        for _ in 1 2 3 4; do
            curl -s -o /dev/null -d "$LOGIN" "$URL/oauth/token" &
        done
        wait
    done
) &
loginpid=$!
sleep 1
during=$(measure -c16 "$URL/api/v2/instance")
wait $loginpid
read -r rps p50 p99 <<<"$alone"
row "GET /api/v2/instance, 16 conns, alone" "$rps" "$p50" "$p99" ""
read -r rps p50 p99 <<<"$during"
row "  ... while 4 logins run at a time" "$rps" "$p50" "$p99" ""

# home timelines: 100 readers following 150 of the 10,000 accounts each,
# 200,000 statuses, the feeds filled as posting fills them; and one
# account with 1,000 local followers posting
echo
echo "seeding statuses and feeds ..."
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" <<SQL
INSERT INTO statuses (id, account_id, text, content, created_at)
SELECT fedi_id_floor(now() - (200000 - g) * interval '1 second') + g % 1000,
       1 + (g * 7919) % 10000, 'status ' || g,
       '<p>status ' || g || ' with a <a href="https://example.com/">link</a></p>',
       now() - (200000 - g) * interval '1 second'
  FROM generate_series(1, 200000) g;
INSERT INTO users (account_id, email, confirmed_at)
SELECT g, 'reader' || g || '@bench.test', now() FROM generate_series(2, 101) g;
INSERT INTO oauth_access_tokens (digest, application_id, user_id, scopes)
SELECT sha256(('reader' || a.id)::bytea), 1, u.id, 'read write'
  FROM accounts a JOIN users u ON u.account_id = a.id
 WHERE a.id BETWEEN 2 AND 101;
INSERT INTO follows (account_id, target_account_id)
SELECT r, 200 + (r * 131 + k * 61) % 9800
  FROM generate_series(2, 101) r, generate_series(1, 150) k
ON CONFLICT DO NOTHING;
INSERT INTO feeds (account_id, status_id)
SELECT f.account_id, s.id FROM follows f
  JOIN statuses s ON s.account_id = f.target_account_id
 WHERE f.account_id BETWEEN 2 AND 101;
INSERT INTO follows (account_id, target_account_id)
SELECT g, 1 FROM generate_series(1001, 2000) g;
ANALYZE accounts; ANALYZE statuses; ANALYZE follows; ANALYZE feeds;
SQL

cat >"$B/home.lua" <<'LUA'
request = function()
    local r = math.random(2, 101)
    return wrk.format("GET", "/api/v1/timelines/home?limit=40",
                      { ["Authorization"] = "Bearer reader" .. r })
end
LUA
cat >"$B/post.lua" <<LUA
wrk.method = "POST"
wrk.path = "/api/v1/statuses"
wrk.body = "status=hello+from+the+bench+%23bench+https%3A%2F%2Fexample.com%2F"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA

# the module's own statement, printed from its table
cat >"$B/sqlprint.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "fedi_sql.h"
int main(int argc, char **argv) {
    int i;
    for (i = 0; i < FEDI_SQL_N; i++) {
        if (strcmp(fedi_sql_stmts[i].name, argv[1]) == 0) {
            puts(fedi_sql_stmts[i].sql);
            return 0;
        }
    }
    return 1;
}
C
cc -I"$TOP/ngx_fedi_module" -o "$B/sqlprint" "$B/sqlprint.c" \
    "$TOP/ngx_fedi_module/fedi_sql.c"
{
    echo '\set r random(2, 101)'
    "$B/sqlprint" TIMELINE_HOME \
        | sed 's/\$1/(:r)::bigint/g; s|\$2|'"'http://127.0.0.1'"'|g; s/\$3::bigint/NULL::bigint/g; s/\$4::bigint/NULL::bigint/g; s/\$5::bigint/NULL::bigint/g; s/\$6/40/g'
    echo ';'
} >"$B/home.pgbench"
PGB=$(pgbench -n -M simple -c 8 -j 2 -T "$SECS" -h "$PGHOST" \
        -p "$PGPORT" -U fedi -f "$B/home.pgbench" fedi 2>&1)
HTPS=$(echo "$PGB" | awk '/^tps/ { printf "%.0f", $3 }')
HLAT=$(echo "$PGB" | awk '/latency average/ { print $4 }')

echo
row "" "req/s" "p50 ms" "p99 ms" "ratio"
read -r rps p50 p99 <<<"$(measure -s "$B/home.lua" "$URL")"
row "pgbench -M simple, same home query, 8 cl." "$HTPS" "$HLAT" "(avg)" ""
row "GET /api/v1/timelines/home?limit=40" "$rps" "$p50" "$p99" \
    "$(awk -v a="$rps" -v b="$HTPS" 'BEGIN { printf "%.2f", a / b }')"
read -r rps p50 p99 <<<"$(measure -c16 -s "$B/post.lua" "$URL")"
row "POST /api/v1/statuses, 1,000 followers" "$rps" "$p50" "$p99" ""

if grep -E '\[(alert|crit|emerg)\]' "$B/nginx/logs/error.log"; then
    echo "bench: nginx logged alerts" >&2
    exit 1
fi
