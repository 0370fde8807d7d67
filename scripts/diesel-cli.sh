#!/usr/bin/env bash
# Installs diesel_cli (PostgreSQL and SQLite only) from crates.io into
# target/diesel-cli, for tests/tests/diesel.rs: diesel_cli generates and runs
# a Diesel project there, migrator imports and adopts it.
#
# Idempotent: when target/diesel-cli/bin/diesel exists and reports the pinned
# version, it only checks. Needs libpq and libsqlite3 headers (Debian's
# libpq-dev, libsqlite3-dev).
#
# The test finds the binary at $MIGRATOR_DIESEL_CLI or
# <workspace>/target/diesel-cli/bin/diesel.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'diesel-cli: %s\n' "$*"; }

version=2.3.4
root=${DIESEL_CLI_ROOT:-target/diesel-cli}
bin="$root/bin/diesel"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; then
    log "up to date ($bin, diesel_cli $version)"
    exit 0
fi

log "installing diesel_cli $version into $root (a few minutes)"
mkdir -p "$root"
cargo install diesel_cli --version "=$version" --locked --no-default-features \
    --features postgres,sqlite --root "$root"
"$bin" --version
