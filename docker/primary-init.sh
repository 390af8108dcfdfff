#!/bin/sh
# Runs once, when the primary's data directory is first made (the postgres image's
# /docker-entrypoint-initdb.d): let the replica stream from it (ADR 0049).
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
