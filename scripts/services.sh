#!/usr/bin/env bash
# Makes sure what the tests need is installed and running: PostgreSQL on
# 127.0.0.1:5432 with trust authentication for local TCP connections, and
# libpq's headers for Diesel's PostgreSQL driver; MariaDB on 127.0.0.1:3306
# (root, no password) and libmariadb's headers for Diesel's MySQL driver; PgBouncer in transaction
# mode on 127.0.0.1:6432 in front of it; Redis on 127.0.0.1:6379. SQLite is
# built in (bundled), so it needs nothing.
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

# libmariadb (for linking: mysqlclient-sys finds it through pkg-config's
# `libmariadb`, or `mysql_config` of the -compat package) and pkg-config.
if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then
    apt_install pkg-config libmariadb-dev libmariadb-dev-compat
fi

# libsqlite3 headers: diesel_cli (scripts/diesel-cli.sh) links the system
# SQLite.
if ! pkg-config --exists sqlite3 2>/dev/null; then
    apt_install pkg-config libsqlite3-dev
fi

# The sqlite3 CLI: offline scripts are tested as an operator runs them.
if ! command -v sqlite3 >/dev/null 2>&1; then
    apt_install sqlite3
fi

# The mysql CLI, likewise (and to check the server below).
if ! command -v mysql >/dev/null 2>&1; then
    apt_install mariadb-client
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
# PgBouncer in transaction mode (the pooler the lock tests go through), on a
# port of its own, with its configuration in a directory this script owns.
# It refuses to run as root: it runs as the postgres user.
PGBOUNCER_DIR=${PGBOUNCER_DIR:-/var/tmp/migrator-pgbouncer}
if pg_isready -q -h 127.0.0.1 -p 6432; then
    log "PgBouncer is running"
else
    if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
        apt_install pgbouncer
    fi
    pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    mkdir -p "$PGBOUNCER_DIR"
    # PostgreSQL trusts local TCP connections, so PgBouncer does too.
    echo '"postgres" ""' >"$PGBOUNCER_DIR/userlist.txt"
    cat >"$PGBOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = $PGBOUNCER_DIR/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 4
ignore_startup_parameters = extra_float_digits,options
logfile = $PGBOUNCER_DIR/pgbouncer.log
pidfile = $PGBOUNCER_DIR/pgbouncer.pid
INI
    run_as=()
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres "$PGBOUNCER_DIR"
        run_as=(runuser -u postgres --)
    fi
    log "starting PgBouncer (transaction mode) on 127.0.0.1:6432"
    "${run_as[@]}" "$pgbouncer" -d "$PGBOUNCER_DIR/pgbouncer.ini"
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 6432 && break
        sleep 1
    done
    pg_isready -h 127.0.0.1 -p 6432
fi
if ! psql -h 127.0.0.1 -p 6432 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
    log "error: cannot connect through PgBouncer at 127.0.0.1:6432 (see $PGBOUNCER_DIR/pgbouncer.log)"
    exit 1
fi

# MariaDB, for the MySQL backend: root over TCP without a password, as on
# the development machines.
mysql_ok() { mysql -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; }
if mysql_ok; then
    log "MariaDB is running"
else
    if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
        apt_install mariadb-server mariadb-client
    fi
    log "starting MariaDB on 127.0.0.1:3306"
    service mariadb start >/dev/null 2>&1 || {
        mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
        (mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
    }
    for _ in $(seq 1 30); do
        mysqladmin -u root status >/dev/null 2>&1 && break
        sleep 1
    done
    # Debian's root authenticates by unix_socket: allow TCP without a
    # password too (through the socket, as root).
    if ! mysql_ok; then
        mysql -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
    fi
fi
if ! mysql_ok; then
    log "error: cannot connect to MariaDB as root@127.0.0.1:3306 without a password"
    exit 1
fi

# Redis, for the `redis://` lock.
if ! command -v redis-cli >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server
fi
if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; then
    log "Redis is running"
else
    log "starting Redis on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no
    for _ in $(seq 1 30); do
        [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ] && break
        sleep 1
    done
    [ "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG ]
fi
log "ready"
