//! migrator's benchmarks (issue "[4/4] Prove it"): migrator against
//! diesel_migrations and a raw `batch_execute` floor, on SQLite and
//! PostgreSQL (and, with `--backends mysql`, MySQL or MariaDB), in one run.
//!
//! ```text
//! scripts/bench.sh [--n 100,1000] [--parts apply,startup,compile,size,plan]
//!                  [--backends sqlite,postgres] [--reps 5] [--startup-reps 15]
//!                  [--rebuild-reps 3] [--plan-n 100000] [--plan-reps 5]
//!                  [--pg-url postgres://postgres@127.0.0.1:5432]
//!                  [--mysql-url mysql://root@127.0.0.1:3306] [--offline]
//!                  [--out bench/target/report.md]
//! ```
//!
//! What it does:
//! 1. generates N revisions of DDL (a table with several columns, a foreign
//!    key and an index; every tenth revision alters an earlier table) in
//!    migrator's format, diesel's directories and plain SQL files, under
//!    `bench/target/gen/`, with one scratch crate per tool and N;
//! 2. builds them (`cargo build --release`, target dir `bench/target/scratch`);
//! 3. runs each binary on fresh databases: it opens its connection, then
//!    times only the measured section (`apply`: upgrade an empty database to
//!    head; `startup`: the same call with everything applied; for the raw
//!    crate, `startup` is one `SELECT 1` round trip, the reference);
//! 4. touches the last revision file of each N-revision crate and times
//!    `cargo build --release -p <crate>` (the macro re-expands); reads
//!    binary sizes;
//! 5. plans on a generated 100 000-revision graph with branches and merges;
//! 6. prints a Markdown report (medians, ratios, the machine, the date).

mod planning;
mod scratch;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use scratch::Tool;

#[derive(Debug, Clone)]
struct Args {
    ns: Vec<usize>,
    parts: Vec<String>,
    backends: Vec<String>,
    reps: usize,
    startup_reps: usize,
    rebuild_reps: usize,
    plan_n: usize,
    plan_reps: usize,
    pg_url: String,
    mysql_url: String,
    offline: bool,
    out: Option<PathBuf>,
}

const PARTS: [&str; 5] = ["apply", "startup", "compile", "size", "plan"];

fn usage() -> ! {
    eprintln!(
        "usage: bench [--n 100,1000] [--parts {}] [--backends sqlite,postgres]\n\
         \x20            [--reps 5] [--startup-reps 15] [--rebuild-reps 3]\n\
         \x20            [--plan-n 100000] [--plan-reps 5]\n\
         \x20            [--pg-url postgres://postgres@127.0.0.1:5432]\n\
         \x20            [--mysql-url mysql://root@127.0.0.1:3306] [--offline] [--out FILE]",
        PARTS.join(",")
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        ns: vec![100, 1000],
        parts: PARTS.iter().map(|s| s.to_string()).collect(),
        backends: vec!["sqlite".into(), "postgres".into()],
        reps: 5,
        startup_reps: 15,
        rebuild_reps: 3,
        plan_n: 100_000,
        plan_reps: 5,
        pg_url: std::env::var("BENCH_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into()),
        mysql_url: std::env::var("BENCH_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
        offline: false,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    let list = |v: String| -> Vec<String> { v.split(',').map(|s| s.trim().to_owned()).collect() };
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        let num = |v: String| v.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--n" => args.ns = list(value()).into_iter().map(num).collect(),
            "--parts" => args.parts = list(value()),
            "--backends" => args.backends = list(value()),
            "--reps" => args.reps = num(value()),
            "--startup-reps" => args.startup_reps = num(value()),
            "--rebuild-reps" => args.rebuild_reps = num(value()),
            "--plan-n" => args.plan_n = num(value()),
            "--plan-reps" => args.plan_reps = num(value()),
            "--pg-url" => args.pg_url = value().trim_end_matches('/').to_owned(),
            "--mysql-url" => args.mysql_url = value().trim_end_matches('/').to_owned(),
            "--offline" => args.offline = true,
            "--out" => args.out = Some(PathBuf::from(value())),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    for p in &args.parts {
        if !PARTS.contains(&p.as_str()) {
            usage();
        }
    }
    for b in &args.backends {
        if !["sqlite", "postgres", "mysql"].contains(&b.as_str()) {
            usage();
        }
    }
    if args.ns.iter().any(|&n| n < 11) {
        eprintln!("--n must be at least 11");
        std::process::exit(2);
    }
    args
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return f64::NAN;
    }
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

struct Ctx {
    args: Args,
    ws: PathBuf,
    target_dir: PathBuf,
    run_dir: PathBuf,
}

impl Ctx {
    fn bin(&self, tool: Tool, n: usize) -> PathBuf {
        self.target_dir.join("release").join(tool.crate_name(n))
    }

    fn cargo_build(&self, package: Option<&str>) -> f64 {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.arg("build")
            .arg("--release")
            .arg("--quiet")
            .arg("--manifest-path")
            .arg(self.ws.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target_dir);
        if std::env::var_os("CARGO_BUILD_JOBS").is_none() {
            cmd.env("CARGO_BUILD_JOBS", "2");
        }
        if self.args.offline {
            cmd.arg("--offline");
        }
        match package {
            Some(p) => {
                cmd.arg("-p").arg(p);
            }
            None => {
                cmd.arg("--workspace");
            }
        }
        let t = Instant::now();
        let status = cmd.status().expect("running cargo");
        let elapsed = t.elapsed().as_secs_f64();
        if !status.success() {
            eprintln!("cargo build failed ({status})");
            std::process::exit(1);
        }
        elapsed
    }

    /// Runs a scratch binary and returns its `key=value` output.
    fn run(&self, tool: Tool, n: usize, url: &str, mode: &str) -> BTreeMap<String, String> {
        let out = Command::new(self.bin(tool, n))
            .arg(url)
            .arg(mode)
            .output()
            .expect("running a scratch binary");
        if !out.status.success() {
            eprintln!(
                "{} {mode} on {url} failed:\n{}{}",
                tool.crate_name(n),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(1);
        }
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// The server's administrative URL (PostgreSQL or MySQL).
    fn admin_url(&self, backend: &str) -> String {
        match backend {
            "mysql" => format!("{}/mysql", self.args.mysql_url),
            _ => format!("{}/postgres", self.args.pg_url),
        }
    }

    /// The server URL of the database `name`.
    fn server_url(&self, backend: &str, name: &str) -> String {
        match backend {
            "mysql" => format!("{}/{name}", self.args.mysql_url),
            _ => format!("{}/{name}", self.args.pg_url),
        }
    }

    /// Runs `sql` (a batch) on `url` with the raw binary.
    fn exec(&self, n: usize, url: &str, sql: &str) {
        let out = Command::new(self.bin(Tool::Raw, n))
            .arg(url)
            .arg("exec")
            .arg(sql)
            .output()
            .expect("running a statement");
        if !out.status.success() {
            eprintln!(
                "`{sql}` on {url} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(1);
        }
    }

    fn query(&self, n: usize, url: &str, sql: &str) -> String {
        let out = Command::new(self.bin(Tool::Raw, n))
            .arg(url)
            .arg("query")
            .arg(sql)
            .output()
            .expect("running a query");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A fresh, empty database; returns its URL.
    fn fresh_db(&self, backend: &str, n: usize, name: &str) -> String {
        if backend == "sqlite" {
            let path = self.run_dir.join(format!("{name}.db"));
            self.drop_sqlite(&path);
            return path.to_string_lossy().into_owned();
        }
        let admin = self.admin_url(backend);
        self.exec(n, &admin, &format!("DROP DATABASE IF EXISTS {name}"));
        self.exec(n, &admin, &format!("CREATE DATABASE {name}"));
        self.server_url(backend, name)
    }

    fn drop_db(&self, backend: &str, n: usize, name: &str) {
        if backend == "sqlite" {
            self.drop_sqlite(&self.run_dir.join(format!("{name}.db")));
        } else {
            self.exec(
                n,
                &self.admin_url(backend),
                &format!("DROP DATABASE IF EXISTS {name}"),
            );
        }
    }

    fn drop_sqlite(&self, path: &Path) {
        let p = path.to_string_lossy();
        for suffix in ["", "-journal", "-wal", "-shm", ".migrator_version.lock"] {
            let _ = std::fs::remove_file(format!("{p}{suffix}"));
        }
    }
}

fn us(map: &BTreeMap<String, String>, key: &str) -> f64 {
    map.get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {map:?}"))
}

fn steps(map: &BTreeMap<String, String>) -> usize {
    map.get("steps")
        .and_then(|v| v.parse().ok())
        .expect("steps")
}

/// Measured samples, keyed by (part, backend, n, tool).
type Samples = BTreeMap<(String, String, usize, &'static str), Vec<f64>>;

fn shell(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    vec![
        (
            "date (UTC)".into(),
            shell("date", &["-u", "+%Y-%m-%d %H:%M"]),
        ),
        ("nproc".into(), shell("nproc", &[])),
        ("CPU".into(), model),
        ("memory".into(), mem),
        ("kernel".into(), shell("uname", &["-sr"])),
        ("rustc".into(), shell("rustc", &["--version"])),
        (
            "load average at report time".into(),
            std::fs::read_to_string("/proc/loadavg")
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        ),
    ]
}

fn main() {
    let args = parse_args();
    let bench_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = bench_dir
        .parent()
        .expect("bench/ is inside the repository")
        .to_path_buf();
    let target = bench_dir.join("target");
    let ctx = Ctx {
        ws: target.join("gen"),
        target_dir: target.join("scratch"),
        run_dir: target.join("run"),
        args: args.clone(),
    };
    std::fs::create_dir_all(&ctx.run_dir).expect("bench/target/run");
    let wants = |p: &str| args.parts.iter().any(|x| x == p);
    let needs_crates = ["apply", "startup", "compile", "size"]
        .iter()
        .any(|p| wants(p));

    let mut samples: Samples = BTreeMap::new();
    let mut notes: Vec<String> = Vec::new();
    let mut versions: Vec<(String, String)> = Vec::new();
    let mut breakdowns: Vec<(String, usize, BTreeMap<String, Vec<f64>>)> = Vec::new();
    // (part, backend, n, tool, the profile run's output)
    let mut profiles: Vec<(&'static str, String, usize, Tool, BTreeMap<String, String>)> =
        Vec::new();

    if needs_crates {
        eprintln!(
            "== generating {} revisions into {}",
            fmt_ns(&args.ns),
            ctx.ws.display()
        );
        scratch::write_workspace(&ctx.ws, &repo, &args.ns).expect("generating");
        eprintln!("== cargo build --release (scratch crates; first run compiles diesel, SQLite…)");
        let t = ctx.cargo_build(None);
        eprintln!("   built in {t:.1} s");
    }

    let n0 = *args.ns.first().unwrap_or(&100);
    if needs_crates && args.backends.iter().any(|b| b == "postgres") {
        versions.push((
            "PostgreSQL".into(),
            ctx.query(n0, &ctx.admin_url("postgres"), "SELECT version() AS v"),
        ));
    }
    if needs_crates && args.backends.iter().any(|b| b == "mysql") {
        versions.push((
            "MySQL/MariaDB".into(),
            ctx.query(n0, &ctx.admin_url("mysql"), "SELECT VERSION() AS v"),
        ));
    }
    if needs_crates && args.backends.iter().any(|b| b == "sqlite") {
        let path = ctx.fresh_db("sqlite", n0, "version_probe");
        versions.push((
            "SQLite (bundled)".into(),
            ctx.query(n0, &path, "SELECT sqlite_version() AS v"),
        ));
        ctx.drop_db("sqlite", n0, "version_probe");
    }

    // Apply: every tool on a fresh database, `reps` rounds, the order of the
    // tools rotating each round so drift hits all of them alike.
    if wants("apply") {
        for backend in &args.backends {
            for &n in &args.ns {
                for rep in 0..args.reps {
                    for k in 0..3 {
                        let tool = Tool::ALL[(k + rep) % 3];
                        let name = format!("mbench_apply_{}_{n}_{rep}", tool.short());
                        let url = ctx.fresh_db(backend, n, &name);
                        let out = ctx.run(tool, n, &url, "apply");
                        assert_eq!(steps(&out), n, "{} applied everything", tool.label());
                        let v = us(&out, "elapsed_us") / 1000.0;
                        eprintln!(
                            "   apply {backend} n={n} rep={rep} {:<18} {v:>10.1} ms",
                            tool.label()
                        );
                        samples
                            .entry(("apply".into(), backend.clone(), n, tool.short()))
                            .or_default()
                            .push(v);
                        ctx.drop_db(backend, n, &name);
                    }
                }
                // One more run per tool with every statement timed (not
                // counted above: the instrumentation costs a little).
                for tool in Tool::ALL {
                    let name = format!("mbench_profile_{}_{n}", tool.short());
                    let url = ctx.fresh_db(backend, n, &name);
                    let out = ctx.run(tool, n, &url, "profile");
                    profiles.push(("apply", backend.clone(), n, tool, out));
                    ctx.drop_db(backend, n, &name);
                }
            }
        }
    }

    // Startup: apply once, then run the binary again and again (a new
    // process and connection each time, as a service starting). The raw
    // binary's `startup` is the reference `SELECT 1`.
    if wants("startup") {
        for backend in &args.backends {
            for &n in &args.ns {
                let mut urls = Vec::new();
                for tool in [Tool::Migrator, Tool::Diesel] {
                    let name = format!("mbench_startup_{}_{n}", tool.short());
                    let url = ctx.fresh_db(backend, n, &name);
                    let out = ctx.run(tool, n, &url, "apply");
                    assert_eq!(steps(&out), n);
                    urls.push((tool, name, url));
                }
                let raw_url = urls[0].2.clone();
                // The floor's one-row table, the harness's own, in the
                // database migrator reads at startup (same schema size),
                // holding a value as long as a digest.
                ctx.exec(
                    n,
                    &raw_url,
                    &format!(
                        "CREATE TABLE bench_floor (state TEXT NOT NULL); \
                         INSERT INTO bench_floor (state) VALUES ('{n}:{}')",
                        "0123456789abcdef".repeat(2)
                    ),
                );
                let mut breakdown: BTreeMap<String, Vec<f64>> = BTreeMap::new();
                for rep in 0..args.startup_reps {
                    for k in 0..3 {
                        let tool = Tool::ALL[(k + rep) % 3];
                        let url = match tool {
                            Tool::Raw => raw_url.clone(),
                            _ => urls.iter().find(|u| u.0 == tool).expect("url").2.clone(),
                        };
                        let out = ctx.run(tool, n, &url, "startup");
                        assert_eq!(steps(&out), 0, "{} had nothing to do", tool.label());
                        samples
                            .entry(("startup".into(), backend.clone(), n, tool.short()))
                            .or_default()
                            .push(us(&out, "elapsed_us"));
                        if tool == Tool::Raw {
                            samples
                                .entry(("startup_warm".into(), backend.clone(), n, "raw"))
                                .or_default()
                                .push(us(&out, "warm_us"));
                        }
                    }
                    // The floor: reading a one-row table, nothing else; then
                    // migrator's startup query alone, sent the same way.
                    for (mode, key) in [
                        ("floor", "startup_floor"),
                        ("startup_query", "startup_query"),
                    ] {
                        let out = ctx.run(Tool::Migrator, n, &urls[0].2, mode);
                        samples
                            .entry((key.into(), backend.clone(), n, "mig"))
                            .or_default()
                            .push(us(&out, "elapsed_us"));
                    }
                    // Profile of the migrator's startup path.
                    let out = ctx.run(Tool::Migrator, n, &urls[0].2, "breakdown");
                    for (k, v) in &out {
                        if let Some(key) = k.strip_suffix("_us") {
                            breakdown
                                .entry(key.to_owned())
                                .or_default()
                                .push(v.parse().unwrap_or(f64::NAN));
                        }
                    }
                }
                eprintln!(
                    "   startup {backend} n={n}: migrator {:.1} µs, diesel {:.1} µs, SELECT 1 {:.1} µs",
                    median(&samples[&("startup".into(), backend.clone(), n, "mig")]),
                    median(&samples[&("startup".into(), backend.clone(), n, "dsl")]),
                    median(&samples[&("startup".into(), backend.clone(), n, "raw")]),
                );
                breakdowns.push((backend.clone(), n, breakdown));
                for (tool, _, url) in &urls {
                    let out = ctx.run(*tool, n, url, "profile");
                    profiles.push(("startup", backend.clone(), n, *tool, out));
                }
                for (_, name, _) in &urls {
                    ctx.drop_db(backend, n, name);
                }
            }
        }
    }

    // Rebuild after touching the last revision file (the macro re-expands);
    // the first build after generation is not counted.
    if wants("compile") {
        // One uncounted `-p` build of each crate first: Cargo unifies
        // features per build, so the `--workspace` build above gave diesel
        // migrator-runtime's features (chrono) and the first `-p` build of a
        // diesel or raw crate recompiles diesel without them (≈ 20 s).
        for &n in &args.ns {
            for tool in Tool::ALL {
                ctx.cargo_build(Some(&tool.crate_name(n)));
            }
        }
        for &n in &args.ns {
            for rep in 0..args.rebuild_reps {
                for k in 0..3 {
                    let tool = Tool::ALL[(k + rep) % 3];
                    let file = tool.touched_file(&ctx.ws, n);
                    std::fs::File::options()
                        .append(true)
                        .open(&file)
                        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
                        .expect("touching a revision file");
                    let secs = ctx.cargo_build(Some(&tool.crate_name(n)));
                    eprintln!(
                        "   rebuild n={n} rep={rep} {:<18} {secs:>6.2} s",
                        tool.label()
                    );
                    samples
                        .entry(("rebuild".into(), "-".into(), n, tool.short()))
                        .or_default()
                        .push(secs);
                }
            }
        }
    }

    if wants("size") {
        for &n in &args.ns {
            for tool in Tool::ALL {
                let bytes = std::fs::metadata(ctx.bin(tool, n))
                    .map(|m| m.len())
                    .unwrap_or(0);
                samples
                    .entry(("size".into(), "-".into(), n, tool.short()))
                    .or_default()
                    .push(bytes as f64);
            }
        }
    }

    let mut plan_result = None;
    if wants("plan") {
        eprintln!("== planning: generating {} revisions", args.plan_n);
        let (revisions, shape) = planning::generate(args.plan_n);
        let timing = planning::run(revisions, args.plan_reps);
        eprintln!(
            "   decode + from_checked + plan_upgrade: {:.1} ms (median of {})",
            median(&timing.total_ms),
            args.plan_reps
        );
        plan_result = Some((shape, timing));
    }

    let report = render(
        &args,
        &samples,
        &versions,
        &breakdowns,
        &profiles,
        plan_result.as_ref(),
        &mut notes,
    );
    println!("{report}");
    let out = args.out.clone().unwrap_or_else(|| target.join("report.md"));
    std::fs::write(&out, &report).expect("writing the report");
    eprintln!("report written to {}", out.display());
}

fn fmt_ns(ns: &[usize]) -> String {
    ns.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

fn verdict(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**missed**" }
}

fn render(
    args: &Args,
    samples: &Samples,
    versions: &[(String, String)],
    breakdowns: &[(String, usize, BTreeMap<String, Vec<f64>>)],
    profiles: &[(&'static str, String, usize, Tool, BTreeMap<String, String>)],
    plan: Option<&(planning::Shape, planning::Timing)>,
    _notes: &mut Vec<String>,
) -> String {
    fn lookup<'s>(
        samples: &'s Samples,
        part: &str,
        backend: &str,
        n: usize,
        tool: &'static str,
    ) -> Option<&'s [f64]> {
        samples
            .get(&(part.to_owned(), backend.to_owned(), n, tool))
            .map(|v| v.as_slice())
    }
    let get = |part: &str, backend: &str, n: usize, tool: &'static str| {
        lookup(samples, part, backend, n, tool)
    };
    let mut r = String::new();
    let mut targets: Vec<String> = Vec::new();
    let _ = writeln!(r, "# migrator benchmark report\n");
    let cmdline: Vec<String> = std::env::args().skip(1).collect();
    let _ = writeln!(r, "Command: `scripts/bench.sh {}`\n", cmdline.join(" "));
    let _ = writeln!(r, "| machine | |\n| --- | --- |");
    for (k, v) in machine().into_iter().chain(versions.iter().cloned()) {
        let _ = writeln!(r, "| {k} | {v} |");
    }
    let _ = writeln!(
        r,
        "\nEvery time is measured inside the process (connection already open, process start excluded); \
         medians over fresh databases, min–max in brackets. Ratios compare medians of the same run.\n"
    );

    if args.parts.iter().any(|p| p == "apply") {
        let _ = writeln!(
            r,
            "## Applying all revisions to an empty database ({} runs each)\n\n\
             | backend | N | raw (floor) | migrator | diesel_migrations | migrator / raw | diesel / raw | min/min: migrator, diesel |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            args.reps
        );
        for backend in &args.backends {
            for &n in &args.ns {
                let (Some(raw), Some(mig), Some(dsl)) = (
                    get("apply", backend, n, "raw"),
                    get("apply", backend, n, "mig"),
                    get("apply", backend, n, "dsl"),
                ) else {
                    continue;
                };
                let ms = |v: &[f64]| format!("{:.0} ms [{:.0}–{:.0}]", median(v), min(v), max(v));
                let (rm, rd) = (median(mig) / median(raw), median(dsl) / median(raw));
                let _ = writeln!(
                    r,
                    "| {backend} | {n} | {} | {} | {} | {rm:.3}× | {rd:.3}× | {:.3}×, {:.3}× |",
                    ms(raw),
                    ms(mig),
                    ms(dsl),
                    min(mig) / min(raw),
                    min(dsl) / min(raw)
                );
                if n == 1000 {
                    targets.push(format!(
                        "| apply 1000, {backend} | ≤ 1.05× raw | {rm:.3}× (diesel {rd:.3}×) | {} |",
                        verdict(rm <= 1.05)
                    ));
                }
            }
        }
        r.push('\n');
    }

    if args.parts.iter().any(|p| p == "startup") {
        let _ = writeln!(
            r,
            "## Startup with everything applied ({} process starts each)\n\n\
             The reference is one `SELECT 1` round trip (`batch_execute`), the first query on a fresh \
             connection (warm: the second one). *One-row table* is the floor of any check that reads \
             a table: `SELECT state FROM bench_floor` (a one-row table the harness creates in migrator's \
             database) sent the same way, the first query on a fresh connection, nothing else. \
             *Startup query* is migrator's own query at head sent the same way (the version table's \
             rows joined in one row: `string_agg`, `group_concat`), nothing decoded.\n\n\
             | backend | N | `SELECT 1` | `SELECT 1` warm | one-row table | startup query | migrator | diesel_migrations | one-row / `SELECT 1` | migrator / `SELECT 1` | diesel / `SELECT 1` | migrator / diesel |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            args.startup_reps
        );
        for backend in &args.backends {
            for &n in &args.ns {
                let (Some(raw), Some(warm), Some(floor), Some(query), Some(mig), Some(dsl)) = (
                    get("startup", backend, n, "raw"),
                    get("startup_warm", backend, n, "raw"),
                    get("startup_floor", backend, n, "mig"),
                    get("startup_query", backend, n, "mig"),
                    get("startup", backend, n, "mig"),
                    get("startup", backend, n, "dsl"),
                ) else {
                    continue;
                };
                let us = |v: &[f64]| format!("{:.0} µs [{:.0}–{:.0}]", median(v), min(v), max(v));
                let rf = median(floor) / median(raw);
                let (rm, rd) = (median(mig) / median(raw), median(dsl) / median(raw));
                let md = median(mig) / median(dsl);
                let _ = writeln!(
                    r,
                    "| {backend} | {n} | {} | {} | {} | {} | {} | {} | {rf:.2}× | {rm:.2}× | {rd:.2}× | {md:.2}× |",
                    us(raw),
                    us(warm),
                    us(floor),
                    us(query),
                    us(mig),
                    us(dsl)
                );
                targets.push(format!(
                    "| startup, {n} applied, {backend} | ≤ diesel | {md:.2}× diesel ({:.0} µs vs {:.0} µs) | {} |",
                    median(mig),
                    median(dsl),
                    verdict(md <= 1.0)
                ));
                if n == 1000 && backend == "postgres" {
                    targets.push(format!(
                        "| startup, 1000 applied, postgres | ≤ 1.5× `SELECT 1` | {rm:.2}× (diesel {rd:.2}×; reading a one-row table: {rf:.2}×) | {} |",
                        verdict(rm <= 1.5)
                    ));
                }
            }
        }
        let _ = writeln!(
            r,
            "\nWhere migrator's startup goes (mode `breakdown`, same connection, in this order; medians, µs):\n\n\
             | backend | N | graph (first use) | state query (cold) | state query (warm) | startup query (warm) | `SELECT 1` | same rows, simple protocol, no decode | `count(*)` | whole upgrade (warm) |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for (backend, n, b) in breakdowns {
            let m = |k: &str| {
                b.get(k)
                    .map(|v| format!("{:.0}", median(v)))
                    .unwrap_or_default()
            };
            let _ = writeln!(
                r,
                "| {backend} | {n} | {} | {} | {} | {} | {} | {} | {} | {} |",
                m("graph"),
                m("state"),
                m("state_warm"),
                m("startup_query_warm"),
                m("select1"),
                m("rows_simple_protocol"),
                m("count"),
                m("upgrade_warm")
            );
        }
        r.push('\n');
    }

    if !profiles.is_empty() {
        let _ = writeln!(
            r,
            "## Where the time goes: every statement timed (diesel instrumentation, one extra run each)\n\n\
             Client-side time from sending each statement to its result, summed by kind, in ms \
             (count in brackets); *client* is the rest of the measured section (Rust code between statements). \
             *other* = reading the version table, locks, creating the bookkeeping tables.\n\n\
             | part | backend | N | tool | total | revision SQL | BEGIN | COMMIT | timeouts | record row | other | client |\n\
             | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for (part, backend, n, tool, out) in profiles {
            let total = out
                .get("elapsed_us")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            let mut sum = 0.0;
            let mut cell = |k: &str| {
                let t: f64 = out
                    .get(&format!("prof_{k}_us"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                let c: u64 = out
                    .get(&format!("prof_{k}_n"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                sum += t;
                if c == 0 {
                    "–".to_owned()
                } else {
                    format!("{:.2} ({c})", t / 1000.0)
                }
            };
            let cells = [
                "revision_sql",
                "begin",
                "commit",
                "timeouts",
                "record",
                "other",
            ]
            .map(&mut cell);
            let _ = writeln!(
                r,
                "| {part} | {backend} | {n} | {} | {:.2} | {} | {:.2} |",
                tool.label(),
                total / 1000.0,
                cells.join(" | "),
                (total - sum) / 1000.0
            );
        }
        r.push('\n');
    }

    if args.parts.iter().any(|p| p == "compile") {
        let _ = writeln!(
            r,
            "## Rebuild after touching the last revision file ({} rebuilds each)\n\n\
             `cargo build --release -p <crate>` wall time, the macro re-expanding all N revisions \
             (the raw crate `include_str!`s the same SQL: no macro, the floor).\n\n\
             | N | raw | migrator | diesel_migrations | migrator / diesel |\n| ---: | ---: | ---: | ---: | ---: |",
            args.rebuild_reps
        );
        for &n in &args.ns {
            let (Some(raw), Some(mig), Some(dsl)) = (
                get("rebuild", "-", n, "raw"),
                get("rebuild", "-", n, "mig"),
                get("rebuild", "-", n, "dsl"),
            ) else {
                continue;
            };
            let s = |v: &[f64]| format!("{:.2} s [{:.2}–{:.2}]", median(v), min(v), max(v));
            let ratio = median(mig) / median(dsl);
            let _ = writeln!(
                r,
                "| {n} | {} | {} | {} | {ratio:.2}× |",
                s(raw),
                s(mig),
                s(dsl)
            );
            if n == 1000 {
                targets.push(format!(
                    "| rebuild after touch, 1000 | ≤ 0.5× diesel | {ratio:.2}× | {} |",
                    verdict(ratio <= 0.5)
                ));
            }
        }
        r.push('\n');
    }

    if args.parts.iter().any(|p| p == "size") {
        let _ = writeln!(
            r,
            "## Binary size (release, default profile)\n\n| N | raw | migrator | diesel_migrations | migrator − diesel |\n| ---: | ---: | ---: | ---: | ---: |"
        );
        for &n in &args.ns {
            let (Some(raw), Some(mig), Some(dsl)) = (
                get("size", "-", n, "raw"),
                get("size", "-", n, "mig"),
                get("size", "-", n, "dsl"),
            ) else {
                continue;
            };
            let kib = |v: &[f64]| format!("{:.0} KiB", v[0] / 1024.0);
            let _ = writeln!(
                r,
                "| {n} | {} | {} | {} | {:+.0} KiB |",
                kib(raw),
                kib(mig),
                kib(dsl),
                (mig[0] - dsl[0]) / 1024.0
            );
            if n == 1000 {
                targets.push(format!(
                    "| binary size, 1000 | ≤ diesel | {:.0} KiB vs {:.0} KiB | {} |",
                    mig[0] / 1024.0,
                    dsl[0] / 1024.0,
                    verdict(mig[0] <= dsl[0])
                ));
            }
        }
        r.push('\n');
    }

    if let Some((shape, t)) = plan {
        let _ = writeln!(
            r,
            "## Planning on a generated graph ({} revisions, {} merges of {} branches; {} runs; release)\n\n\
             | step | median | min–max |\n| --- | ---: | ---: |\n\
             | `compact::decode` (inflating the embedded form included) | {:.1} ms | {:.1}–{:.1} ms |\n\
             | `Graph::from_checked` | {:.1} ms | {:.1}–{:.1} ms |\n\
             | `plan_upgrade(base → head)` ({} steps) | {:.1} ms | {:.1}–{:.1} ms |\n\
             | **all three** | **{:.1} ms** | {:.1}–{:.1} ms |\n\
             | `plan_upgrade` with everything applied (startup) | {:.1} ms | {:.1}–{:.1} ms |\n",
            shape.revisions,
            shape.merges,
            shape.branches,
            t.total_ms.len(),
            median(&t.decode_ms),
            min(&t.decode_ms),
            max(&t.decode_ms),
            median(&t.from_checked_ms),
            min(&t.from_checked_ms),
            max(&t.from_checked_ms),
            t.steps,
            median(&t.plan_ms),
            min(&t.plan_ms),
            max(&t.plan_ms),
            median(&t.total_ms),
            min(&t.total_ms),
            max(&t.total_ms),
            median(&t.plan_all_applied_ms),
            min(&t.plan_all_applied_ms),
            max(&t.plan_all_applied_ms),
        );
        let _ = writeln!(
            r,
            "Attribution of `Graph::from_checked` (its steps replicated in the bench; medians):\n\n| step | ms |\n| --- | ---: |"
        );
        for (name, ms) in &t.parts {
            let _ = writeln!(r, "| {name} | {ms:.1} |");
        }
        r.push('\n');
        if shape.revisions == 100_000 {
            targets.push(format!(
                "| planning 100 000 | < 100 ms | {:.1} ms | {} |",
                median(&t.total_ms),
                verdict(median(&t.total_ms) < 100.0)
            ));
        }
    }

    if !targets.is_empty() {
        let mut head = String::from(
            "## Targets\n\n| target | goal | measured | |\n| --- | --- | --- | --- |\n",
        );
        for t in &targets {
            head.push_str(t);
            head.push('\n');
        }
        r.push_str(&head);
    }
    r
}
