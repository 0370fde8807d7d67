#!/usr/bin/env bash
# Makes sure what the tests need is installed and running: PostgreSQL on
# 127.0.0.1:5432 with trust authentication for local TCP connections, and
# libpq's headers for Diesel's PostgreSQL driver. SQLite is built in
# (bundled), so it needs nothing.
#
# Idempotent: on a machine where all is ready, it only checks. Needs root
# (apt-get) only when something is missing.
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }

apt_install() {
    log "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$@" >/dev/null
}

# libpq (for linking) and the PostgreSQL client tools.
if ! command -v pg_config >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
    apt_install libpq-dev postgresql-client
fi

# The sqlite3 CLI: offline scripts are tested as an operator runs them.
if ! command -v sqlite3 >/dev/null 2>&1; then
    apt_install sqlite3
fi

if pg_isready -q -h 127.0.0.1 -p 5432; then
    log "PostgreSQL is running"
else
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        apt_install postgresql
    fi
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    # Trust local TCP connections: the tests create and drop their own
    # databases as the postgres user, without a password.
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && break
        sleep 1
    done
    pg_isready -h 127.0.0.1 -p 5432
fi

# The tests connect as postgres without a password.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
    log "error: cannot connect as postgres@127.0.0.1 without a password (check pg_hba.conf)"
    exit 1
fi
log "ready"
