#!/usr/bin/env bash
# The tests `reversibility_tests!` generates, timed on a generated directory
# of N revisions (default 300): each revision creates a table with a foreign
# key to the previous one and an index; every tenth also a view. Writes a
# scratch crate to target/bench-reversibility/ (sharing the workspace's lock
# file and target directory), builds its tests, then times `cargo test` of
# the PostgreSQL tests (or the backends given as the second argument, e.g.
# `sqlite` or `postgres,sqlite`).
#
#   scripts/bench-reversibility.sh [N] [BACKENDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${1:-300}
backends=${2:-postgres}
dir=target/bench-reversibility
rm -rf "$dir"
mkdir -p "$dir/migrations" "$dir/tests"
for ((i = 1; i <= n; i++)); do
    id=$(printf '%04d' "$i")
    parent=$(printf '%04d' $((i - 1)))
    {
        printf -- '-- Table %s\n--\n-- Revision ID: %s\n' "$i" "$id"
        if ((i == 1)); then printf -- '-- Revises:\n'; else printf -- '-- Revises: %s\n' "$parent"; fi
        printf -- '-- Create Date: 2026-01-01\n\n-- migrate:upgrade\n'
        printf 'CREATE TABLE t%s (\n    id BIGINT NOT NULL PRIMARY KEY,\n' "$i"
        if ((i > 1)); then printf '    parent_id BIGINT REFERENCES t%s (id),\n' $((i - 1)); fi
        printf '    name VARCHAR(100) NOT NULL,\n    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n'
        printf 'CREATE INDEX t%s_name_idx ON t%s (name, created_at);\n' "$i" "$i"
        if ((i % 10 == 0)); then printf 'CREATE VIEW v%s AS SELECT id, name FROM t%s;\n' "$i" "$i"; fi
        printf '\n-- migrate:downgrade\n'
        if ((i % 10 == 0)); then printf 'DROP VIEW v%s;\n' "$i"; fi
        printf 'DROP TABLE t%s;\n' "$i"
    } >"$dir/migrations/${id}_table_$i.sql"
done
cat >"$dir/Cargo.toml" <<TOML
[package]
name = "bench-reversibility"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
migrator-runtime = { path = "$root/migrator-runtime", features = ["testing"] }
TOML
printf 'migrator_runtime::embed_migrations!("migrations");\n' >"$dir/src.rs"
mkdir -p "$dir/src" && mv "$dir/src.rs" "$dir/src/lib.rs"
printf 'migrator_runtime::reversibility_tests!("migrations", bench_reversibility::MIGRATIONS, backends = [%s]);\n' \
    "$backends" >"$dir/tests/reversible.rs"
cp Cargo.lock "$dir/Cargo.lock"
export CARGO_TARGET_DIR=$root/target
cargo test --manifest-path "$dir/Cargo.toml" --test reversible --no-run --quiet
printf 'load before: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
cargo test --manifest-path "$dir/Cargo.toml" --test reversible --quiet 2>&1 | tail -3
end=$(date +%s.%N)
printf 'load after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s revisions, backends %s: cargo test took %.1f s\n' "$n" "$backends" "$(echo "$end - $start" | bc)"
