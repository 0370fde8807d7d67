#!/usr/bin/env bash
# migrator's benchmarks (docs/BENCHMARKS.md); flags: --n, --parts, --backends, --reps… (--help).
cd "$(dirname "$0")/.." && exec cargo run --release --manifest-path bench/Cargo.toml -- "$@"
