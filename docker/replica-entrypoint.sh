#!/bin/sh
# The replica (ADR 0049): on its first start (empty data directory) copy the
# primary with pg_basebackup -R, which also writes the standby settings; then run
# as a hot standby. Promote it with `pg_ctl promote` when the primary is lost.
set -eu
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  until pg_basebackup -h "${PRIMARY_HOST}" -U "${REPLICATION_USER}" -D "${PGDATA}" -R -X stream; do
    echo "replica: waiting for the primary" >&2
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 0700 "${PGDATA}"
fi
exec postgres -c hot_standby=on
