#!/bin/bash
# with-test-pg.sh CMD...: run CMD beside a throw-away PostgreSQL cluster.
# The cluster lives in build/test-pg (FEDI_TEST_PG overrides), listens on a
# unix socket only, holds the migrated schema in the template database
# fedi_tmpl, and is removed when CMD ends, whatever the outcome.  Each test
# file makes its own database from the template (t/lib/Fedi/Test.pm).

set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${FEDI_TEST_PG:-$TOP/build/test-pg}
PG=$TOP/tools/pg.sh

"$PG" destroy "$DIR"
trap '"$PG" destroy "$DIR"' EXIT
trap 'exit 130' INT TERM

FEDI_PG_FSYNC=off FEDI_PG_SYNC=off "$PG" start "$DIR"
"$PG" psql "$DIR" -d postgres -c "CREATE DATABASE fedi_tmpl OWNER fedi"
"$PG" migrate "$DIR" fedi_tmpl >/dev/null

# every statement of the module prepares against the schema
FEDICTL=$TOP/build/fedictl
if [ -x "$FEDICTL" ] \
    && [[ $("$FEDICTL" help 2>&1 </dev/null) == *"db check"* ]]
then
    if ! FEDI_DB="host=$("$PG" host "$DIR") port=$("$PG" port "$DIR") dbname=fedi_tmpl user=fedi" \
        "$FEDICTL" db check >"$DIR/db-check.out" 2>&1
    then
        echo "fedictl db check: a statement does not prepare:" >&2
        grep -v '^ok' "$DIR/db-check.out" >&2
        exit 1
    fi
    echo "fedictl db check: $(grep -c '^ok' "$DIR/db-check.out") statements prepare"
fi
"$PG" psql "$DIR" -d postgres -c "ALTER DATABASE fedi_tmpl IS_TEMPLATE true"

FEDI_TEST_PGHOST=$("$PG" host "$DIR")
FEDI_TEST_PGPORT=$("$PG" port "$DIR")
FEDI_TEST_TEMPLATE=fedi_tmpl
export FEDI_TEST_PGHOST FEDI_TEST_PGPORT FEDI_TEST_TEMPLATE

"$@"
