#!/usr/bin/env bash
# The same async service (tokio + axum + a deadpool of diesel-async
# `AsyncPgConnection`s, no libpq) built two ways, both migrating at startup on
# a pooled connection wrapped in `AsyncConnectionWrapper`, in spawn_blocking:
#
#   (A) bench/async-service/migrator: migrator-runtime (feature `diesel-async`)
#   (B) bench/async-service/diesel:   diesel_migrations' `MigrationHarness`
#
# Both get the same workload, N revisions `CREATE TABLE t_i (…)` (generated
# here in each format), and serve `GET /health` (a `SELECT 1` on a pooled
# connection). The script creates and drops its own databases on the
# PostgreSQL at 127.0.0.1:5432 (user postgres, trust authentication), builds
# both in release, and prints a markdown table:
#
# - startup: from the spawn of the process to the first `200` on /health,
#   everything already applied (each service is run once first, applying the
#   N revisions; that run is reported too, as one sample); the median of RUNS
#   runs, the two services alternating;
# - the number of shared libraries (`ldd BIN | wc -l`);
# - the size of the binary, stripped (a stripped copy) and as built.
#
# Usage: scripts/bench-async-service.sh [--n N] [--runs RUNS]   (100 and 5)
set -euo pipefail
cd "$(dirname "$0")/.."

n=100
runs=5
while [ $# -gt 0 ]; do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-async-service: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

root="$PWD"
dir="$root/bench/async-service"
export CARGO_TARGET_DIR="$dir/target"
pg_admin="postgres://postgres@127.0.0.1:5432/postgres"
db_a="bench_async_migrator"
db_b="bench_async_diesel"
url_a="postgres://postgres@127.0.0.1:5432/$db_a"
url_b="postgres://postgres@127.0.0.1:5432/$db_b"
bin_a="$CARGO_TARGET_DIR/release/async-service-migrator"
bin_b="$CARGO_TARGET_DIR/release/async-service-diesel"

log() { printf 'bench-async-service: %s\n' "$*" >&2; }

work="$(mktemp -d)"
psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql "$pg_admin" -v ON_ERROR_STOP=1 -qAtc "$1" >/dev/null; }
drop_dbs() {
    psql_admin "DROP DATABASE IF EXISTS $db_a WITH (FORCE)" || true
    psql_admin "DROP DATABASE IF EXISTS $db_b WITH (FORCE)" || true
}
cleanup() {
    drop_dbs
    rm -rf "$work"
}
trap cleanup EXIT

# --- The workload, in both formats ------------------------------------------
# Written to a scratch directory and moved in only when it differs, so that an
# unchanged workload does not rebuild the services.
width=$(( ${#n} > 3 ? ${#n} : 3 ))
gen_migrator() {
    local out="$1" i id prev=""
    mkdir -p "$out"
    for i in $(seq 1 "$n"); do
        id=$(printf "%0${width}d" "$i")
        cat >"$out/${id}_create_t_${id}.sql" <<EOF
-- Create t_${id}
--
-- Revision ID: ${id}
-- Revises: ${prev}
-- Create Date: 2024-01-01 00:00:00

-- migrate:upgrade
CREATE TABLE t_${id} (id BIGINT PRIMARY KEY, name TEXT NOT NULL);

-- migrate:downgrade
DROP TABLE t_${id};
EOF
        prev="$id"
    done
}
gen_diesel() {
    local out="$1" i id m
    mkdir -p "$out"
    for i in $(seq 1 "$n"); do
        id=$(printf "%0${width}d" "$i")
        m="$out/$(printf '2024-01-01-%06d' "$i")_create_t_${id}"
        mkdir -p "$m"
        printf 'CREATE TABLE t_%s (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\n' "$id" >"$m/up.sql"
        printf 'DROP TABLE t_%s;\n' "$id" >"$m/down.sql"
    done
}
install_workload() {
    local gen="$1" dest="$2"
    "$gen" "$work/$gen"
    if ! diff -rq "$work/$gen" "$dest" >/dev/null 2>&1; then
        rm -rf "$dest"
        mv "$work/$gen" "$dest"
        log "wrote $n revisions to ${dest#"$root"/}"
    fi
}
install_workload gen_migrator "$dir/migrator/migrations"
install_workload gen_diesel "$dir/diesel/migrations"

# --- Build --------------------------------------------------------------------
for crate in migrator diesel; do
    log "building $crate (release)"
    cargo build --release --quiet --manifest-path "$dir/$crate/Cargo.toml"
done

# --- Databases ---------------------------------------------------------------
pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL is not running on 127.0.0.1:5432 (see scripts/services.sh)"; exit 1; }
drop_dbs
psql_admin "CREATE DATABASE $db_a"
psql_admin "CREATE DATABASE $db_b"

# --- Startup time -------------------------------------------------------------
# One run: spawn BIN with DATABASE_URL and a free PORT, poll GET /health every
# ~1 ms over a raw socket (no process per attempt), print the milliseconds
# from the spawn to the first 200, stop the service.
cat >"$work/startup.py" <<'EOF'
import os, socket, subprocess, sys, time

binary, url = sys.argv[1], sys.argv[2]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
env = dict(os.environ, DATABASE_URL=url, PORT=str(port))
request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

start = time.perf_counter()
proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL)
try:
    while True:
        if proc.poll() is not None:
            sys.exit(f"{binary} exited with {proc.returncode} before serving /health")
        if time.perf_counter() - start > 120:
            sys.exit(f"{binary}: no 200 on /health after 120 s")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(request)
                status = c.recv(64).split(b"\r\n", 1)[0]
            if status.split()[1:2] == [b"200"]:
                elapsed = time.perf_counter() - start
                break
        except (OSError, IndexError):
            pass
        time.sleep(0.001)
finally:
    proc.terminate()
    proc.wait()
print(f"{elapsed * 1000:.1f}")
EOF
startup() { python3 "$work/startup.py" "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd '-' | sed 's/-/ – /'; }

log "first runs (apply the $n revisions)"
first_a=$(startup "$bin_a" "$url_a")
first_b=$(startup "$bin_b" "$url_b")
# Both must have applied the whole workload.
for db in "$db_a" "$db_b"; do
    tables=$(psql "postgres://postgres@127.0.0.1:5432/$db" -qAtc \
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\\_%'")
    [ "$tables" = "$n" ] || { log "$db has $tables tables t_*, expected $n"; exit 1; }
done

log "$runs runs each, everything applied"
times_a=()
times_b=()
for _ in $(seq 1 "$runs"); do
    times_a+=("$(startup "$bin_a" "$url_a")")
    times_b+=("$(startup "$bin_b" "$url_b")")
done

# --- Binaries -----------------------------------------------------------------
libs() { ldd "$1" | wc -l; }
stripped() { cp "$1" "$work/stripped"; strip "$work/stripped"; stat -c %s "$work/stripped"; }
size() { awk -v b="$1" 'BEGIN { printf "%.2f MiB (%d B)", b / 1048576, b }'; }

cat <<EOF

$n revisions, PostgreSQL $(psql "$pg_admin" -qAtc 'SHOW server_version'), $(nproc) cores, $(rustc --version | cut -d' ' -f1-2).

| | (A) migrator-runtime | (B) diesel_migrations |
| --- | ---: | ---: |
| startup to first 200, all applied (median of $runs, ms) | $(median "${times_a[@]}") | $(median "${times_b[@]}") |
| – range (ms) | $(range "${times_a[@]}") | $(range "${times_b[@]}") |
| startup to first 200, applying all $n (1 run, ms) | $first_a | $first_b |
| shared libraries (\`ldd \| wc -l\`) | $(libs "$bin_a") | $(libs "$bin_b") |
| binary size, stripped | $(size "$(stripped "$bin_a")") | $(size "$(stripped "$bin_b")") |
| binary size, as built | $(size "$(stat -c %s "$bin_a")") | $(size "$(stat -c %s "$bin_b")") |

Shared libraries of (A): $(ldd "$bin_a" | awk '{ print $1 }' | paste -sd ' ')
Shared libraries of (B): $(ldd "$bin_b" | awk '{ print $1 }' | paste -sd ' ')
EOF
