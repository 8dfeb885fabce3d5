#!/bin/bash
# run.sh: start (or restart) the embedded instance that `make run` gives:
# a private PostgreSQL in $FEDI_VAR/pg on a unix socket, the schema
# migrated, and the stock nginx with our module serving $FEDI_LISTEN.
# Data in $FEDI_VAR survives; running it again restarts nginx with the
# current module and configuration.  `make stop` (tools/stop.sh) stops both.
#
#   FEDI_VAR     state directory          (default: var/ in the checkout)
#   FEDI_LISTEN  nginx listen address     (default: 127.0.0.1:8080)
#   FEDI_DOMAIN  the instance's domain    (default: localhost:PORT)
#   FEDI_MODULE  the module to load       (default: build/ngx_fedi_module.so)

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
LISTEN=${FEDI_LISTEN:-127.0.0.1:8080}
PORT=${LISTEN##*:}
DOMAIN=${FEDI_DOMAIN:-localhost:$PORT}
MODULE=${FEDI_MODULE:-$TOP/build/ngx_fedi_module.so}
mkdir -p "${FEDI_VAR:-$TOP/var}"
VAR=$(realpath "${FEDI_VAR:-$TOP/var}")

case $LISTEN in
*:*) ;;
*)   echo "run.sh: FEDI_LISTEN must be ADDRESS:PORT, not $LISTEN" >&2
     exit 1 ;;
esac

[ -f "$MODULE" ] || { echo "run.sh: $MODULE is missing: run make" >&2; exit 1; }

# PostgreSQL
"$TOP/tools/pg.sh" start "$VAR/pg"
"$TOP/tools/pg.sh" migrate "$VAR/pg" fedi
PGHOST=$("$TOP/tools/pg.sh" host "$VAR/pg")
PGPORT=$("$TOP/tools/pg.sh" port "$VAR/pg")

# nginx: nginx's workers run as "nobody" when started by root; they must
# reach the socket and the static files, so keep the tree traversable.
mkdir -p "$VAR/nginx"
chmod 0755 "$VAR" "$VAR/nginx"

# uploaded media: written by the workers, served by nginx
mkdir -p "$VAR/media"
[ "$(id -u)" = 0 ] && chown nobody "$VAR/media"

# federation fetches resolve names with nginx's resolver: the system's
# first name server (an IPv6 one in brackets)
RESOLVER=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf 2>/dev/null)
case "$RESOLVER" in
    *:*) RESOLVER="[$RESOLVER]" ;;
    "")  RESOLVER=127.0.0.1 ;;
esac

sed -e "s|@MODULE@|$MODULE|g" -e "s|@VAR@|$VAR|g" -e "s|@LISTEN@|$LISTEN|g" \
    -e "s|@RESOLVER@|$RESOLVER|g" \
    -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@PGHOST@|$PGHOST|g" \
    -e "s|@PGPORT@|$PGPORT|g" -e "s|@TOP@|$TOP|g" \
    "$TOP/conf/fedi-embedded.conf.in" >"$VAR/nginx/nginx.conf.new"
mv "$VAR/nginx/nginx.conf.new" "$VAR/nginx/nginx.conf"

# A dynamic module is not reloaded by `nginx -s reload` (dlopen hands back
# the loaded copy), so a running nginx is stopped and started again.
"$TOP/tools/stop.sh" --nginx-only

log=$VAR/nginx/error.log
touch "$log"
mark=$(wc -l <"$log")
if ! "$NGINX" -p "$VAR/nginx/" -c "$VAR/nginx/nginx.conf" -e "$log"; then
    echo "run.sh: nginx did not start; $log says:" >&2
    tail -n +"$((mark + 1))" "$log" | tail -20 >&2
    exit 1
fi

url=http://$LISTEN
for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$url/health" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if ! curl -fsS -o /dev/null "$url/health"; then
    echo "run.sh: $url/health does not answer; $log says:" >&2
    tail -n +"$((mark + 1))" "$log" | tail -20 >&2
    exit 1
fi

db="host=$PGHOST port=$PGPORT dbname=fedi user=fedi"

# First start: an owner account to log in with.  Its password is kept in
# $VAR/owner (readable by you only) so a later run can say it again.
OWNER=${FEDI_OWNER:-admin}
OWNER_EMAIL=${FEDI_OWNER_EMAIL:-admin@example.com}
if [ ! -f "$VAR/owner" ]; then
    out=$("$TOP/build/fedictl" --db "$db" accounts create "$OWNER" \
              --email "$OWNER_EMAIL" --confirmed --approve --role Owner) \
        || { echo "run.sh: creating the owner account failed" >&2; exit 1; }
    pass=$(echo "$out" | sed -n 's/^New password: //p')
    (umask 077; printf '%s %s %s\n' "$OWNER" "$OWNER_EMAIL" "$pass" \
        >"$VAR/owner")
fi
read -r OWNER OWNER_EMAIL OWNER_PASS <"$VAR/owner"

cat <<EOF

ngx_fedi is running at $url (domain $DOMAIN)

  log in:        any Mastodon app, at $url, as $OWNER_EMAIL
                 with the password $OWNER_PASS (the owner, @$OWNER)
  or by hand:    curl -s -X POST $url/api/v1/apps -d client_name=cli \\
                   -d redirect_uris=urn:ietf:wg:oauth:2.0:oob \\
                   -d 'scopes=read write follow'
                 then POST $url/oauth/token with grant_type=password,
                 client_id, client_secret, username=$OWNER_EMAIL, password
  try it:        curl $url/api/v2/instance
  logs:          $VAR/nginx/error.log, $VAR/nginx/access.log
  database:      psql "$db"
  admin tool:    FEDI_DB="$db" $TOP/build/fedictl help
  stop:          make stop${FEDI_VAR:+ FEDI_VAR=$VAR}

EOF
