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
# BENCH_SECONDS (default 8) and BENCH_CONNS (default 64) tune the runs;
# BENCH_KEEP=1 leaves nginx and PostgreSQL running afterwards;
# BENCH_QUICK=1 skips the seeded instance (timelines, posting, fan-out);
# BENCH_ONLY=deliver runs only the deliveries (issue 6).

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build/bench
SECS=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNS:-64}
MODULE=${BENCH_MODULE:-$TOP/build/ngx_fedi_module.so}   # another build to compare

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# One run at a time in a tree: a second one deletes the first's
# nginx.pid and cluster under it, and that nginx is then never stopped.
mkdir -p "$B"
if [ -f "$B/bench.pid" ] && grep -qs bench.sh "/proc/$(cat "$B/bench.pid")/cmdline"
then
    echo "bench: another bench (pid $(cat "$B/bench.pid")) runs in $B" >&2
    exit 1
fi
echo $$ >"$B/bench.pid"

# An nginx left from an earlier run (BENCH_KEEP=1, or a run cut short)
# reconnects to this run's cluster (the same socket) and its delivery
# process claims deliveries it cannot make (its DNS server, sink and CA
# are gone): they fail and wait 15 to 25 s for their retry.  Stop it.
# (by its prefix: whatever configuration it was started with)
for pid in $(pgrep -f "^nginx: master process /usr/sbin/nginx -p $B/(nginx|stream)/? " || true); do
    echo "bench: stopping nginx $pid, left from an earlier run" >&2
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done

cleanup() {
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "BENCH_KEEP: nginx on $URL, PostgreSQL at $CONNINFO"
        return
    fi
    if [ -f "$B/nginx/nginx.pid" ]; then
        kill "$(cat "$B/nginx/nginx.pid")" 2>/dev/null || true
        sleep 0.5
    fi
    "$TOP/tools/pg.sh" stop "$B/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$B/nginx" "$B/media"
mkdir -p "$B/nginx/static" "$B/nginx/logs" "$B/media"
chmod 0777 "$B/media"      # nginx's workers (nobody) store uploads there

# a fresh cluster each run: the numbers come from the same data
"$TOP/tools/pg.sh" destroy "$B/pg" >/dev/null 2>&1 || true
FEDI_PG_FSYNC=off FEDI_PG_SYNC=off FEDI_PG_SHARED_BUFFERS=1GB \
    "$TOP/tools/pg.sh" start "$B/pg"
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
URL=http://127.0.0.1:$PORT

# deliveries (issue 6) go to a sink over TLS: a throw-away CA, a
# certificate for *.sink.test, a DNS server (dnsmasq) for those names and
# the sink on free loopback ports
DNSPORT=$(free_port)
SINKPORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj '/CN=bench CA' \
    -keyout "$B/ca.key" -out "$B/ca.crt" \
    -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj '/CN=sink.test' \
    -keyout "$B/sink.key" -out "$B/sink.csr" 2>/dev/null
printf 'subjectAltName=DNS:sink.test,DNS:*.sink.test\nextendedKeyUsage=serverAuth\n' \
    >"$B/sink.ext"
openssl x509 -req -in "$B/sink.csr" -CA "$B/ca.crt" -CAkey "$B/ca.key" \
    -CAcreateserial -days 2 -sha256 -extfile "$B/sink.ext" \
    -out "$B/sink.crt" 2>/dev/null

cat >"$B/nginx/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 2;
pid $B/nginx/nginx.pid;
error_log $B/nginx/logs/error.log ${BENCH_LOG_LEVEL:-warn};
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
    fedi_media_rate_limit 0;   # and uploads hundreds of files
    fedi_media_root $B/media;

    resolver 127.0.0.1:$DNSPORT valid=300s ipv6=off;
    fedi_outbound_allow 127.0.0.1/32;
    fedi_ssl_trusted_certificate $B/ca.crt;

    # reuseport: the kernel spreads the connections over the workers;
    # without it one worker took 55 of wrk's 64 and its requests queued
    # for its four database connections while the other's idled
    server {
        listen 127.0.0.1:$PORT reuseport;
        location / { fedi; }
        location ~ ^/api/v[12]/media\$ { fedi; client_max_body_size 100m; }
        location = /sink { client_max_body_size 100m; return 204; }
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

# the timelines read through each worker's status cache: measured warm,
# as a running instance is, after a short run that fills it (the same
# readers, the same pages; its figures are not kept)
warm() {
    wrk -t2 -c"$CONNS" -d2s "$@" >/dev/null 2>&1 || true
}

report() {
    local name=$1 base=$2 ours=$3 bname=$4
    read -r brps bp50 bp99 <<<"$base"
    read -r rps p50 p99 <<<"$ours"
    row "$bname" "$brps" "$bp50" "$bp99" ""
    row "$name" "$rps" "$p50" "$p99" \
        "$(awk -v a="$rps" -v b="$brps" 'BEGIN { printf "%.2f", a / b }')"
}

if [ "${BENCH_ONLY:-}" != deliver ]; then
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

# Media (issue 7): a 12-megapixel JPEG processed (libvips on the thread
# pool: autorotate, strip, re-encode capped at 8.3 Mpx, preview,
# blurhash), the workers' peak memory around it, uploads per second of
# a 1 MB picture beside nginx discarding the same body, and the latency
# of another endpoint while pictures are processed
cc -o "$B/mkimage" "$TOP/t/media/mkimage.c" $(pkg-config --cflags --libs vips)
"$B/mkimage" "$B/12mp.jpg" 4000 3000
"$B/mkimage" "$B/1mb.jpg" 1900 1400 0 30
hwm() {
    local pid max=0 v
    for pid in $(pgrep -P "$(cat "$B/nginx/nginx.pid")"); do
        v=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${v:-0}" -gt "$max" ] && max=$v
    done
    echo $((max / 1024))
}
upload() {
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "$AUTH" \
        -F "file=@$1;type=image/jpeg" "$URL/api/v1/media"
}
echo
before=$(hwm)
times=$(for _ in $(seq 5); do upload "$B/12mp.jpg"; done)
if echo "$times" | grep -qv '^200 '; then
    echo "bench: a 12 Mpx upload failed: $times" >&2
    exit 1
fi
echo "$times" | awk '{ print $2 }' | sort -n | awk '{ a[NR] = $1 } END {
    printf "%-44s %10s %9.1f %9.1f\n", "POST /api/v1/media, 12 Mpx JPEG: p50, max ms",
           "", a[int((NR + 1) / 2)] * 1000, a[NR] * 1000 }'
after=$(hwm)
row "  worker peak RSS, MB: before, after" "" "$before" "$after" ""

# a 10-second 720p video with sound: probed, re-encoded (H.264/AAC),
# its first frame the preview
if [ -x /usr/bin/ffmpeg ]; then
    ffmpeg -v error -y -f lavfi -i testsrc=duration=10:size=1280x720:rate=30 \
        -f lavfi -i sine=duration=10 -shortest -c:v mpeg4 -q:v 4 "$B/720p.mp4"
    vt=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "$AUTH" \
            -F "file=@$B/720p.mp4;type=video/mp4" "$URL/api/v1/media")
    [ "${vt%% *}" = 200 ] || { echo "bench: the video upload failed: $vt" >&2; exit 1; }
    printf '%-44s %10s %9.1f %9s\n' "POST /api/v1/media, 10 s 720p video, ms" "" \
        "$(awk -v t="${vt#* }" 'BEGIN { print t * 1000 }')" ""
fi

size=$(stat -c %s "$B/1mb.jpg")
cat >"$B/upload.lua" <<LUA
local f = io.open("$B/1mb.jpg", "rb")
local data = f:read("*a")
f:close()
local b = "benchboundary0123456789"
wrk.method = "POST"
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"file\"; "
    .. "filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" .. data
    .. "\r\n--" .. b .. "--\r\n"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
report "POST /api/v1/media, $((size / 1024)) kB JPEG" \
       "$(measure -c16 -s "$B/upload.lua" "$URL/sink")" \
       "$(measure -c16 -s "$B/upload.lua" "$URL/api/v1/media")" \
       "nginx discarding the same body"

alone=$(measure -c16 "$URL/api/v2/instance")
(
    end=$((SECONDS + SECS + 2))
    while [ $SECONDS -lt $end ]; do
        for _ in 1 2 3 4; do
            upload "$B/12mp.jpg" >/dev/null &
        done
        wait
    done
) &
mediapid=$!
sleep 1
during=$(measure -c16 "$URL/api/v2/instance")
wait $mediapid
read -r rps p50 p99 <<<"$alone"
row "GET /api/v2/instance, 16 conns, alone" "$rps" "$p50" "$p99" ""
read -r rps p50 p99 <<<"$during"
row "  ... while 4 12-Mpx JPEGs process at a time" "$rps" "$p50" "$p99" ""
rm -rf "$B/media"/*

if [ -z "${BENCH_QUICK:-}" ]; then

# A realistic instance (issue 4): the 10,000 accounts follow 150 others
# each on average; accounts 1-3 have all 10,000 as followers, account 4
# exactly 1,000; 1,000,000 statuses over the last 12 days (one in ten a
# boost, one in ten a reply, one in twenty with a hashtag).  The home
# feeds of 100 readers (accounts 101-200) hold what they follow, as
# posting would have filled them; account 10001 follows only two quiet
# accounts.  Every account has a user, so fan-out reaches all of them.
echo
echo "seeding 1,000,000 statuses, 1,500,000 follows and the feeds ..."
seed_start=$SECONDS
cat >"$B/seed.sql" <<'SQL'
SET fedi.stream_quiet = on;   -- a seed, not events for the streams
-- the seed is history, not actions to deliver (sql/0017)
ALTER TABLE statuses DISABLE TRIGGER statuses_out;
ALTER TABLE favourites DISABLE TRIGGER favourites_out;
ALTER TABLE follows DISABLE TRIGGER follows_remote;     -- all local
INSERT INTO users (account_id, email, confirmed_at)
SELECT g, 'u' || g || '@bench.test', now() FROM generate_series(2, 10000) g;
INSERT INTO accounts (id, username, display_name)
SELECT g, 'quiet' || g, 'Quiet ' || g FROM generate_series(10001, 10003) g;
INSERT INTO users (account_id, email, confirmed_at)
VALUES (10001, 'quiet@bench.test', now());
INSERT INTO oauth_access_tokens (digest, application_id, user_id, scopes)
SELECT sha256(('reader' || u.account_id)::bytea), 1, u.id, 'read write'
  FROM users u WHERE u.account_id BETWEEN 101 AND 200 OR u.account_id = 10001;
INSERT INTO oauth_access_tokens (digest, application_id, user_id, scopes)
SELECT sha256(('poster' || u.account_id)::bytea), 1, u.id, 'read write'
  FROM users u WHERE u.account_id BETWEEN 1 AND 4;

INSERT INTO follows (account_id, target_account_id)
SELECT a, t FROM (
    SELECT a, 1 + (a * 131 + k * 61 + k * k) % 10000 AS t
      FROM generate_series(1, 10000) a,
           generate_series(1, 10 + (a * 37) % 281) k) x
 WHERE t <> a
ON CONFLICT DO NOTHING;
INSERT INTO follows (account_id, target_account_id)
SELECT g, t FROM generate_series(1, 10000) g, generate_series(1, 3) t
 WHERE g <> t ON CONFLICT DO NOTHING;
DELETE FROM follows WHERE target_account_id = 4;
INSERT INTO follows (account_id, target_account_id)
SELECT g, 4 FROM generate_series(5001, 6000) g;
INSERT INTO follows (account_id, target_account_id)
VALUES (10001, 10002), (10001, 10003);

INSERT INTO tags (id, name) SELECT g, 'topic' || g FROM generate_series(1, 100) g;
INSERT INTO statuses (id, account_id, text, content, created_at,
                      reblog_of_id, in_reply_to_id, in_reply_to_account_id,
                      conversation_id)
SELECT fedi_id_floor(now() - (1000000 - g) * interval '1 second') + g % 1000,
       1 + (g::bigint * 7919) % 10000, 'status ' || g,
       CASE WHEN g % 10 = 3 THEN '' ELSE
       '<p>status ' || g || ' with a <a href="https://example.com/" rel="nofollow'
       || ' noopener noreferrer" target="_blank"><span class="invisible">https://'
       || '</span><span class="">example.com/</span><span class="invisible">'
       || '</span></a> in it, and some more words to make it look like a post'
       || ' people write</p>' END,
       now() - (1000000 - g) * interval '1 second',
       NULL, NULL, NULL, NULL
  FROM generate_series(1, 1000000) g;
-- boosts and replies of earlier statuses
WITH x AS (SELECT s.id, s.account_id,
                  row_number() OVER (ORDER BY s.id) AS n FROM statuses s),
     p AS (SELECT x.id, x.n, o.id AS oid, o.account_id AS oacc
             FROM x JOIN x o ON o.n = greatest(1, x.n - 1 - (x.n * 7) % 5000)
            WHERE x.n % 10 IN (3, 7))
UPDATE statuses s
   SET reblog_of_id = CASE WHEN p.n % 10 = 3 THEN p.oid END,
       in_reply_to_id = CASE WHEN p.n % 10 = 7 THEN p.oid END,
       in_reply_to_account_id = CASE WHEN p.n % 10 = 7 THEN p.oacc END,
       conversation_id = CASE WHEN p.n % 10 = 7 THEN p.oid END
  FROM p WHERE s.id = p.id;
UPDATE statuses SET conversation_id = id WHERE conversation_id IS NULL;
INSERT INTO statuses_tags (status_id, tag_id)
SELECT id, 1 + id % 100 FROM statuses WHERE id % 20 = 0 AND reblog_of_id IS NULL;
INSERT INTO statuses (account_id, text, content, created_at)
SELECT 10002 + g % 2, 'quiet ' || g, '<p>quiet ' || g || '</p>',
       now() - interval '30 days' + g * interval '1 day'
  FROM generate_series(1, 4) g;

UPDATE accounts a SET followers_count = c.n
  FROM (SELECT target_account_id, count(*) AS n FROM follows
         GROUP BY 1) c WHERE c.target_account_id = a.id;
UPDATE accounts a SET following_count = c.n
  FROM (SELECT account_id, count(*) AS n FROM follows
         GROUP BY 1) c WHERE c.account_id = a.id;
UPDATE accounts a SET statuses_count = c.n
  FROM (SELECT account_id, count(*) AS n FROM statuses
         GROUP BY 1) c WHERE c.account_id = a.id;

INSERT INTO feeds (account_id, status_id)
SELECT f.account_id, s.id FROM follows f
  JOIN statuses s ON s.account_id = f.target_account_id
 WHERE (f.account_id BETWEEN 101 AND 200 OR f.account_id = 10001)
   AND (s.in_reply_to_account_id IS NULL
        OR s.in_reply_to_account_id = s.account_id
        OR EXISTS (SELECT 1 FROM follows g WHERE g.account_id = f.account_id
                      AND g.target_account_id = s.in_reply_to_account_id))
ON CONFLICT DO NOTHING;
-- one status in twenty mentions someone; readers favourited one in ten
-- of their feed and bookmarked one in fifty
INSERT INTO mentions (status_id, account_id)
SELECT id, 1 + (id * 13) % 10000 FROM statuses
 WHERE id % 20 = 1 AND reblog_of_id IS NULL;
INSERT INTO favourites (account_id, status_id)
SELECT f.account_id, f.status_id FROM feeds f WHERE f.status_id % 10 = 0;
INSERT INTO bookmarks (account_id, status_id)
SELECT f.account_id, f.status_id FROM feeds f WHERE f.status_id % 50 = 1;
ALTER TABLE statuses ENABLE TRIGGER statuses_out;
ALTER TABLE favourites ENABLE TRIGGER favourites_out;
ALTER TABLE follows ENABLE TRIGGER follows_remote;
VACUUM ANALYZE accounts, users, oauth_access_tokens, follows, statuses,
    statuses_tags, tags, feeds, mentions, favourites, bookmarks;
SQL
psql -X -q -v ON_ERROR_STOP=1 -f "$B/seed.sql" "$CONNINFO"
FOLLOWS=$(psql -X -At "$CONNINFO" -c "SELECT count(*) FROM follows")
FEEDROWS=$(psql -X -At "$CONNINFO" -c "SELECT count(*) FROM feeds")
echo "seeded in $((SECONDS - seed_start)) s: $FOLLOWS follows, $FEEDROWS feed rows"

# a running instance has its hot tables in memory: so does the bench;
# and the seed's writes are checkpointed now, not during the measurements
"$TOP/tools/pg.sh" psql "$B/pg" -d fedi -q \
    -c "CHECKPOINT" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
    -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')" >/dev/null

cat >"$B/home.lua" <<'LUA'
request = function()
    local r = math.random(101, 200)
    return wrk.format("GET", "/api/v1/timelines/home?limit=40",
                      { ["Authorization"] = "Bearer reader" .. r })
end
LUA
cat >"$B/quiet.lua" <<'LUA'
wrk.path = "/api/v1/timelines/home?limit=40"
wrk.headers["Authorization"] = "Bearer reader10001"
LUA
cat >"$B/post.lua" <<LUA
wrk.method = "POST"
wrk.path = "/api/v1/statuses"
wrk.body = "status=hello+from+the+bench+%23bench+https%3A%2F%2Fexample.com%2F"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer poster4"
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
# (pgbench's prepared mode takes ":MI" in the timestamp formats for a
# variable: the same format, with its colons quoted, keeps them apart)
{
    echo '\set r random(101, 200)'
    "$B/sqlprint" TIMELINE_HOME \
        | sed 's/:MI:SS/":"MI":"SS/g; s/\$1/(:r)::bigint/g; s|\$2|'"'http://127.0.0.1'"'|g; s/\$3::bigint/NULL::bigint/g; s/\$4::bigint/NULL::bigint/g; s/\$5::bigint/NULL::bigint/g; s/\$6/40/g'
    echo ';'
} >"$B/home.pgbench"
PGB=$(pgbench -n -M prepared -c 8 -j 2 -T "$SECS" -h "$PGHOST" \
        -p "$PGPORT" -U fedi -f "$B/home.pgbench" fedi 2>&1)
HTPS=$(echo "$PGB" | awk '/^tps/ { printf "%.0f", $3 }')
HLAT=$(echo "$PGB" | awk '/latency average/ { print $4 }')

# and with as many clients as wrk has connections: what PostgreSQL alone
# does at that concurrency (one backend per client), p50 and p99 from
# pgbench's per-transaction log
rm -f "$B"/pgblog.*
PGB=$(pgbench -n -M prepared -c "$CONNS" -j 2 -T "$SECS" -l \
        --log-prefix="$B/pgblog" -h "$PGHOST" -p "$PGPORT" -U fedi \
        -f "$B/home.pgbench" fedi 2>&1)
H64=$(echo "$PGB" | awk '/^tps/ { printf "%.0f", $3 }')
read -r H64P50 H64P99 <<<"$(cat "$B"/pgblog.* | awk '{ print $3 / 1000 }' \
    | sort -n | awk '{ a[NR] = $1 } END {
        printf "%.2f %.2f\n", a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1] }')"
rm -f "$B"/pgblog.*

echo
row "" "req/s" "p50 ms" "p99 ms" "ratio"
warm -s "$B/home.lua" "$URL"
read -r rps p50 p99 <<<"$(measure -s "$B/home.lua" "$URL")"
row "pgbench -M prepared, same home query, 8 cl." "$HTPS" "$HLAT" "(avg)" ""
row "pgbench, the same with $CONNS clients" "$H64" "$H64P50" "$H64P99" ""
row "GET /api/v1/timelines/home?limit=40" "$rps" "$p50" "$p99" \
    "$(awk -v a="$rps" -v b="$HTPS" 'BEGIN { printf "%.2f", a / b }')"
row "  (timelines: after 2 s that fill the cache)" "" "" "" ""
warm -s "$B/quiet.lua" "$URL"
read -r rps p50 p99 <<<"$(measure -s "$B/quiet.lua" "$URL")"
row "  ... for a reader of two quiet accounts" "$rps" "$p50" "$p99" ""
# posting at the issue's rate, then as fast as 16 connections go: each
# paced connection waits 40 ms between an answer and its next post (wrk
# counts the latency without the wait), about 300 posts/s in all; both
# leave the background fan-out more than it can do (1,000 feed rows a
# post), so it runs throughout
{ cat "$B/post.lua"; echo 'function delay() return 40 end'; } >"$B/post300.lua"
read -r rps p50 p99 <<<"$(measure -c16 -s "$B/post300.lua" "$URL")"
row "POST /api/v1/statuses, 1,000 followers, paced" "$rps" "$p50" "$p99" ""
read -r rps p50 p99 <<<"$(measure -c16 -s "$B/post.lua" "$URL")"
row "  ... as fast as 16 connections go" "$rps" "$p50" "$p99" ""

# fan-out: a post by account 1 (10,000 local followers, so the background
# fan-out) until it is in all their home feeds, timed by the database
# from the posting transaction's start; the median of five
# the posts above leave their fan-out behind them: how fast it drains
backlog=$(psql -X -At "$CONNINFO" -c "SELECT count(*) FROM fanout_jobs")
drain_start=$(date +%s.%N)
for _ in $(seq 1200); do
    [ "$(psql -X -At "$CONNINFO" -c "SELECT count(*) FROM fanout_jobs")" = 0 ] \
        && break
    sleep 0.25
done
left=$(psql -X -At "$CONNINFO" -c "SELECT count(*) FROM fanout_jobs")
if [ "$left" != 0 ]; then
    echo "bench: the fan-out backlog did not drain in 300 s" >&2
    exit 1
fi
awk -v n="$backlog" -v t0="$drain_start" -v t1="$(date +%s.%N)" 'BEGIN {
    d = t1 - t0
    printf "%-44s %10s %9s %9s\n", "  fan-out left behind: " n " posts", "", "", ""
    printf "%-44s %10.0f %9s %9s\n", "  ... drained in " sprintf("%.1f", d) " s, feed rows/s",
           (d > 0 ? n * 1000 / d : 0), "", "" }'
# $1 the row's label, $2 the followers whose exclusive lists keep the
# post out of their home feeds
fanout_median() {
for i in 1 2 3 4 5; do
    sid=$(curl -sf -H "Authorization: Bearer poster1" \
               -d "status=fan-out $i" "$URL/api/v1/statuses" \
          | grep -o '"id":"[0-9]*"' | head -1 | tr -dc 0-9)
    psql -X -At -v ON_ERROR_STOP=1 "$CONNINFO" <<SQL
DO \$\$
DECLARE n bigint; want bigint;
BEGIN
    SELECT count(*) - $2 INTO want FROM follows WHERE target_account_id = 1;
    FOR i IN 1..2000 LOOP
        SELECT count(*) INTO n FROM feeds WHERE status_id = $sid;
        EXIT WHEN n >= want + 1;
        PERFORM pg_sleep(0.005);
    END LOOP;
    RAISE NOTICE 'fanout % % %', n, want + 1,
        extract(epoch FROM clock_timestamp()
                - (SELECT created_at FROM statuses WHERE id = $sid)) * 1000;
END
\$\$;
SQL
done 2>&1 | awk '/fanout/ { if ($3 + 0 < $4 + 0) bad = 1; print $5 }
    END { if (bad) { print "bench: a fan-out did not complete" > "/dev/stderr"; exit 1 } }' \
  | sort -n | awk -v label="$1" '{ t[NR] = $1 } END {
        printf "%-44s %10s %9.1f %9s\n", label, "", t[3], "" }'
}
fanout_median "post by 10,000 followers: in all feeds" 0

# lists (sql/0030): 1,000 of account 1's followers hold it in three
# lists each, one list in ten exclusive; the list feeds are filled from
# the same fan-out.  Readers 101-200 each read a list of 20 accounts
# they follow (its id is theirs), filled with their recent posts.
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" <<'SQL'
INSERT INTO lists (account_id, title, exclusive)
SELECT g, 'list ' || k, k = 3 AND g % 10 = 0
  FROM generate_series(1001, 2000) g, generate_series(1, 3) k;
INSERT INTO list_accounts (list_id, account_id)
SELECT id, 1 FROM lists;
INSERT INTO lists (id, account_id, title)
SELECT g, g, 'reading' FROM generate_series(101, 200) g;
DO $$ BEGIN
    PERFORM fedi_list_add(r, r, ARRAY(
                SELECT target_account_id FROM follows
                 WHERE account_id = r AND target_account_id > 4
                 ORDER BY target_account_id LIMIT 20))
       FROM generate_series(101, 200) r;
END $$;
ANALYZE lists; ANALYZE list_accounts; ANALYZE list_feeds;
SQL
fanout_median "  ... 3,000 lists (100 exclusive) hold the author" 100
cat >"$B/list.lua" <<'LUA'
request = function()
    local r = math.random(101, 200)
    return wrk.format("GET", "/api/v1/timelines/list/" .. r .. "?limit=40",
                      { ["Authorization"] = "Bearer reader" .. r })
end
LUA
warm -s "$B/list.lua" "$URL"
read -r lrps lp50 lp99 <<<"$(measure -s "$B/list.lua" "$URL")"
row "GET /api/v1/timelines/list/:id?limit=40" "$lrps" "$lp50" "$lp99" \
    "$(awk -v a="$lrps" -v b="$HTPS" 'BEGIN { printf "%.2f", a / b }')"

fi   # BENCH_QUICK

# the inbox: a signed activity (draft-cavage rsa-sha256, as Mastodon
# sends) from a remote actor whose key is known, so what is measured is
# parsing, the digest, the verification with the cached key, the lookup
# and the insert (the same activity each time: stored once, 202 always)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$B/actor.key" 2>/dev/null
psql -X -q -v ON_ERROR_STOP=1 \
     -v pub="$(openssl pkey -in "$B/actor.key" -pubout)" "$CONNINFO" <<'SQL'
INSERT INTO accounts (username, domain, uri, inbox_url, public_key,
                      public_key_id)
VALUES ('remote', 'remote.example', 'https://remote.example/users/remote',
        'https://remote.example/users/remote/inbox', :'pub',
        'https://remote.example/users/remote#main-key');
SQL
BODY='{"@context":"https://www.w3.org/ns/activitystreams","id":"https://remote.example/users/remote/likes/1","type":"Like","actor":"https://remote.example/users/remote","object":"https://remote.example/notes/1"}'
DATE=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
DIGEST="SHA-256=$(printf %s "$BODY" | openssl dgst -sha256 -binary | base64 -w0)"
SIG=$(printf '(request-target): post /inbox\nhost: %s\ndate: %s\ndigest: %s' \
             "127.0.0.1:$PORT" "$DATE" "$DIGEST" \
      | openssl dgst -sha256 -sign "$B/actor.key" | base64 -w0)
SIGHDR="keyId=\"https://remote.example/users/remote#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"$SIG\""
cat >"$B/inbox.lua" <<LUA
wrk.method = "POST"
wrk.path = "/inbox"
wrk.body = [[$BODY]]
wrk.headers["Content-Type"] = "application/activity+json"
wrk.headers["Date"] = "$DATE"
wrk.headers["Digest"] = "$DIGEST"
wrk.headers["Signature"] = [[$SIGHDR]]
LUA
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/inbox" \
       -H 'Content-Type: application/activity+json' -H "Date: $DATE" \
       -H "Digest: $DIGEST" -H "Signature: $SIGHDR" --data-binary "$BODY")
if [ "$code" != 202 ]; then
    echo "bench: the signed inbox request answers $code, not 202" >&2
    exit 1
fi
echo
row "" "req/s" "p50 ms" "p99 ms" "ratio"
printf '{}' >"$B/nginx/static/accepted.json"
report "POST /inbox, signed, key cached (16 conns)" \
       "$(measure -c16 "$URL/static/accepted.json")" \
       "$(measure -c16 -s "$B/inbox.lua" "$URL")" "static file, same answer"

# the streaming API: idle connections held, delay from a post to its
# event at many subscribers (its own nginx, sized for the connections)
"$TOP/tools/bench_stream.sh" "$CONNINFO" "$B" "$MODULE"
fi   # BENCH_ONLY

# Deliveries (issue 6): one post by an account with 10,000 followers on
# 1,000 servers (ten a server, each with a shared inbox) answering each
# POST after 50 ms: the time until every server has it, and the CPU the
# delivery process used (its /proc stat before and after); one signed
# delivery's CPU beside what OpenSSL needs for the RSA-2048 signature
# alone, measured now with openssl speed.
/usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
    --no-hosts --no-poll --bind-interfaces --listen-address=127.0.0.1 \
    --port="$DNSPORT" --address=/sink.test/127.0.0.1 \
    --pid-file="$B/dnsmasq.pid" ${BENCH_DNS_LOG:+--log-queries --log-facility="$B/dnsmasq.queries"} \
    >"$B/dnsmasq.log" 2>&1 &
DNSMASQ=$!
LAB_SINKS="[{\"name\":\"sink.test\",\"addr\":\"127.0.0.1\",\"key\":\"$B/sink.key\",\"cert\":\"$B/sink.crt\"}]" \
LAB_PORT=$SINKPORT LAB_SLOW_MS=50 \
    "$TOP/t/fedlab/node_modules/.bin/node" "$TOP/t/fedlab/sink.mjs" \
    >"$B/sink.log" 2>&1 &
SINK=$!
trap 'kill $DNSMASQ $SINK 2>/dev/null || true; cleanup' EXIT
# dnsmasq answers before anything is sent (queries sent before it
# listens fail, and are retried only 15 s later)
for _ in $(seq 100); do
    python3 - "$DNSPORT" <<'PY' 2>/dev/null && break
import socket, sys
q = b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00' \
    + b'\x06bench1\x04sink\x04test\x00\x00\x01\x00\x01'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
s.sendto(q, ('127.0.0.1', int(sys.argv[1])))
s.recv(512)
PY
    sleep 0.1
done
for _ in $(seq 100); do
    curl -sf --cacert "$B/ca.crt" --resolve "sink.test:$SINKPORT:127.0.0.1" \
        "https://sink.test:$SINKPORT/_lab/health" >/dev/null && break
    sleep 0.1
done

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$B/herald.key" 2>/dev/null
psql -X -q -v ON_ERROR_STOP=1 -v key="$(cat "$B/herald.key")" \
     -v pub="$(openssl pkey -in "$B/herald.key" -pubout)" "$CONNINFO" <<SQL
INSERT INTO accounts (id, username, private_key, public_key)
VALUES (20000, 'herald', :'key', :'pub');
INSERT INTO accounts (id, username, domain, uri, inbox_url, shared_inbox_url)
SELECT 20000 + g, 'f' || g, 'bench' || (g % 1000) || '.sink.test',
       'https://bench' || (g % 1000) || '.sink.test:$SINKPORT/users/f' || g,
       'https://bench' || (g % 1000) || '.sink.test:$SINKPORT/users/f' || g
       || '/inbox',
       'https://bench' || (g % 1000) || '.sink.test:$SINKPORT/inbox'
  FROM generate_series(1, 10000) g;
INSERT INTO follows (account_id, target_account_id)
SELECT 20000 + g, 20000 FROM generate_series(1, 10000) g;
-- no Follow ids: nothing to Accept
SQL

dl_pid=""
for p in $(pgrep -P "$(cat "$B/nginx/nginx.pid")"); do
    grep -q '^nginx: fedi delivery process' "/proc/$p/cmdline" 2>/dev/null \
        && dl_pid=$p
done
if [ -z "$dl_pid" ]; then
    echo "bench: no delivery process" >&2
    exit 1
fi
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# until the sink counted $1 POSTs (a minute at most): how many it did
sink_wait() {
    local n=0
    for _ in $(seq 1200); do
        n=$(curl -sf --cacert "$B/ca.crt" \
                --resolve "sink.test:$SINKPORT:127.0.0.1" \
                "https://sink.test:$SINKPORT/_lab/count" \
            | sed -n 's/.*"posts":\([0-9]*\).*/\1/p')
        [ "${n:-0}" -ge "$1" ] && break
        sleep 0.05
    done
    echo "${n:-0}"
}
TCK=$(getconf CLK_TCK)

cpu0=$(cpu_ticks "$dl_pid")
t0=$(date +%s%3N)
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" \
     -c "INSERT INTO statuses (account_id, text, content)
         VALUES (20000, 'to everyone', '<p>to everyone</p>')"
got=$(sink_wait 1000)
t1=$(date +%s%3N)
cpu1=$(cpu_ticks "$dl_pid")
if [ "${got:-0}" -lt 1000 ]; then
    echo "bench: only ${got:-0} of 1,000 inboxes got the post" >&2
    exit 1
fi
left=$(psql -X -At "$CONNINFO" -c "SELECT count(*) FROM deliveries")
rsa=$(openssl speed -seconds 2 rsa2048 2>/dev/null \
      | awk '/^rsa 2048 bits/ { print $6 }')
echo
row "" "s" "CPU s" "" "ratio"
row "fan-out floor: 1,000 x 50 ms / 128 conns" \
    "$(awk 'BEGIN { printf "%.2f", 1000 * 0.05 / 128 }')" "" "" ""
row "one post to 10,000 followers, 1,000 inboxes" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')" \
    "" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 / (1000 * 0.05 / 128) }')"
echo "  (left in the queue: $left; target: 30 s, 3 CPU s)"
row "" "" "ms CPU" "" "ratio"
row "RSA-2048 signature alone (openssl speed)" "" \
    "$(awk -v s="$rsa" 'BEGIN { printf "%.3f", 1000 / s }')" "" ""
row "one signed delivery (TLS, HTTP, queue)" "" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TCK" 'BEGIN { printf "%.3f", (b - a) / t }')" "" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TCK" -v s="$rsa" 'BEGIN { printf "%.2f", ((b - a) / t) / (1000 / s) }')"

# the same, 500 times to one server that closes each connection (every
# delivery a new TLS connection: what resuming the host's TLS session
# saves), per delivery
psql -X -q -v ON_ERROR_STOP=1 -v key="$(cat "$B/herald.key")" \
     -v pub="$(openssl pkey -in "$B/herald.key" -pubout)" "$CONNINFO" <<SQL
INSERT INTO accounts (id, username, private_key, public_key)
VALUES (40000, 'herald2', :'key', :'pub');
INSERT INTO accounts (id, username, domain, uri, inbox_url)
SELECT 40000 + g, 'c' || g, 'benchclose.sink.test',
       'https://benchclose.sink.test:$SINKPORT/users/c' || g,
       'https://benchclose.sink.test:$SINKPORT/users/c' || g || '/inbox'
  FROM generate_series(1, 500) g;
INSERT INTO follows (account_id, target_account_id)
SELECT 40000 + g, 40000 FROM generate_series(1, 500) g;
SQL
curl -sf --cacert "$B/ca.crt" --resolve "sink.test:$SINKPORT:127.0.0.1" \
    "https://sink.test:$SINKPORT/_lab/reset" >/dev/null
cpu0=$(cpu_ticks "$dl_pid")
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" \
     -c "INSERT INTO statuses (account_id, text, content)
         VALUES (40000, 'to one server', '<p>to one server</p>')"
got=$(sink_wait 500)
cpu1=$(cpu_ticks "$dl_pid")
if [ "${got:-0}" -lt 500 ]; then
    echo "bench: only ${got:-0} of 500 deliveries to one server" >&2
    exit 1
fi
row "  ... to one server, a connection each" "" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TCK" 'BEGIN { printf "%.3f", (b - a) / t * 2 }')" "" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TCK" -v s="$rsa" 'BEGIN { printf "%.2f", ((b - a) / t * 2) / (1000 / s) }')"

if [ "${BENCH_ONLY:-}" != deliver ]; then
# Create activities fully processed: N distinct signed Creates of a Note
# (HTML with a mention, a hashtag and a link, so the sanitizer works) by
# the same remote actor, followed by 50 local accounts, POSTed by wrk
# (each once, then it stops); the rate is N over the time from the first
# one received to the last one processed (stored as a status, fanned
# out), beside the static baseline measured above
N_CREATES=${BENCH_CREATES:-3000}
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" <<'SQL'
INSERT INTO accounts (username, display_name)
SELECT 'inboxfan' || g, 'Fan ' || g FROM generate_series(1, 50) g;
INSERT INTO follows (account_id, target_account_id)
SELECT a.id, r.id FROM accounts a, accounts r
 WHERE a.username LIKE 'inboxfan%' AND r.uri = 'https://remote.example/users/remote';
SQL
openssl pkey -in "$B/actor.key" -traditional -out "$B/actor.rsa" 2>/dev/null
DATE=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
perl -MCrypt::OpenSSL::RSA -MDigest::SHA=sha256 -MMIME::Base64 -e '
    my ($keyfile, $n, $host, $date) = @ARGV;
    open my $fh, "<", $keyfile or die; local $/; my $pem = <$fh>;
    my $key = Crypt::OpenSSL::RSA->new_private_key($pem);
    $key->use_sha256_hash();
    my $a = "https://remote.example/users/remote";
    print "local items = {\n";
    for my $i (1 .. $n) {
        my $body = qq({"\@context":"https://www.w3.org/ns/activitystreams","id":"$a/creates/$i","type":"Create","actor":"$a","object":{"id":"https://remote.example/notes/c$i","type":"Note","attributedTo":"$a","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["$a/followers"],"content":"<p>Note $i for <span class=\\"h-card\\"><a href=\\"https://remote.example/\@x\\" class=\\"u-url mention\\">\@<span>x</span></a></span> <a href=\\"https://remote.example/tags/bench\\" class=\\"mention hashtag\\" rel=\\"tag\\">#<span>bench</span></a> see <a href=\\"https://example.com/page\\">example.com/page</a><script>x()</script></p>","tag":[{"type":"Hashtag","name":"#bench","href":"https://remote.example/tags/bench"}]}});
        my $digest = "SHA-256=" . encode_base64(sha256($body), "");
        my $sig = encode_base64($key->sign("(request-target): post /inbox\nhost: $host\ndate: $date\ndigest: $digest"), "");
        print "{b=[==[$body]==], d=\"$digest\", s=[==[keyId=\"$a#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"$sig\"]==]},\n";
    }
    print "}\n";
' "$B/actor.rsa" "$N_CREATES" "127.0.0.1:$PORT" "$DATE" >"$B/creates.lua"
cat >>"$B/creates.lua" <<LUA
local reqs, i, done = {}, 0, 0
function init(args)
    for k, it in ipairs(items) do
        reqs[k] = wrk.format("POST", "/inbox", {
            ["Content-Type"] = "application/activity+json",
            ["Date"] = "$DATE", ["Digest"] = it.d, ["Signature"] = it.s }, it.b)
    end
end
function request()
    i = i % #reqs + 1
    return reqs[i]
end
function response(status, headers, body)
    done = done + 1
    if done >= #reqs then wrk.thread:stop() end
end
LUA
# the CPU the work took, nginx's and PostgreSQL's (their processes,
# living and ended): on a shared machine a steadier figure than the rate
tree_ticks() {
    local t c
    t=$(awk '{ print $16 + $17 }' "/proc/$1/stat")
    for c in $(pgrep -P "$1"); do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null \
                   || echo 0)))
    done
    echo "$t"
}
NGX_MASTER=$(cat "$B/nginx/nginx.pid")
PG_MASTER=$(head -1 "$B/pg/data/postmaster.pid")
ngx0=$(tree_ticks "$NGX_MASTER")
pg0=$(tree_ticks "$PG_MASTER")
wrk -t1 -c16 -d"$((N_CREATES / 20 + 10))s" -s "$B/creates.lua" "$URL" \
    >"$B/creates.out" 2>&1
if grep -q 'Non-2xx' "$B/creates.out"; then
    cat "$B/creates.out" >&2
    echo "bench: a signed Create was refused" >&2
    exit 1
fi
psql -X -At -v ON_ERROR_STOP=1 "$CONNINFO" <<SQL | tail -1 | {
DO \$\$
BEGIN
    FOR i IN 1..12000 LOOP
        EXIT WHEN (SELECT count(*) FROM inbox_activities
                    WHERE uri LIKE '%/creates/%' AND processed_at IS NULL) = 0;
        PERFORM pg_sleep(0.005);
    END LOOP;
END
\$\$;
SELECT count(*) FILTER (WHERE outcome LIKE 'create %'), count(*),
       extract(epoch FROM max(processed_at) - min(received_at)),
       (SELECT count(*) FROM statuses WHERE uri LIKE 'https://remote.example/notes/c%'
           AND content NOT LIKE '%<script%')
  FROM inbox_activities WHERE uri LIKE '%/creates/%';
SQL
    IFS='|' read -r created total secs statuses
    if [ "$created" != "$N_CREATES" ] || [ "$statuses" != "$N_CREATES" ]; then
        echo "bench: $created of $total Creates made $statuses statuses, not $N_CREATES" >&2
        exit 1
    fi
    row "Create activities fully processed ($N_CREATES)" \
        "$(awk -v n="$N_CREATES" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')" \
        "" "" ""
    row "  (first received to last processed, s)" "$secs" "" "" ""
}
ngx1=$(tree_ticks "$NGX_MASTER")
pg1=$(tree_ticks "$PG_MASTER")
awk -v n="$N_CREATES" -v t="$TCK" -v c="$(nproc)" \
    -v ng=$((ngx1 - ngx0)) -v pg=$((pg1 - pg0)) 'BEGIN {
    a = ng * 1000 / t / n; b = pg * 1000 / t / n
    printf "%-44s %10.2f %9.2f\n", "  CPU ms per Create: nginx, PostgreSQL", a, b
    printf "%-44s %10.0f\n", "  Creates/s that CPU allows on " c " cores", c * 1000 / (a + b) }'
fi   # BENCH_ONLY

if grep -E '\[(alert|crit|emerg)\]' "$B/nginx/logs/error.log"; then
    echo "bench: nginx logged alerts" >&2
    exit 1
fi
