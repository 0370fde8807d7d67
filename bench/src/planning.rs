//! Planning on a large generated graph: `Graph::from_checked` (what the first
//! use of `MIGRATIONS` does) + `plan_upgrade` to head from base.

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Instant;

use migrator_core::graph::Graph;
use migrator_core::model::{Body, Direction, Revision, Section, compact};
use migrator_core::plan::{self, Target};

/// A small deterministic generator (xorshift64*), so every run plans the
/// same graph.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub struct Shape {
    pub revisions: usize,
    pub merges: usize,
    pub branches: usize,
}

/// `n` revisions with Alembic-like random 12-hex-digit IDs (so ID order is
/// unrelated to graph order): a main line that forks every 20 to 80
/// revisions into 2 to 4 branches of 1 to 30 revisions each, joined by a
/// merge revision (whose `Revises` lists every branch tip).
pub fn generate(n: usize) -> (&'static [Revision], Shape) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut seen = HashSet::with_capacity(n);
    let mut fresh_id = |rng: &mut Rng| loop {
        let id = format!("{:012x}", rng.next() & 0xFFFF_FFFF_FFFF);
        if seen.insert(id.clone()) {
            return id;
        }
    };
    let mut revisions: Vec<Revision> = Vec::with_capacity(n);
    let mut shape = Shape {
        revisions: 0,
        merges: 0,
        branches: 0,
    };
    let mut tip: Option<String> = None;
    let mut until_fork = 20 + rng.below(61) as usize;
    let push = |revisions: &mut Vec<Revision>, id: String, parents: Vec<String>| {
        let k = revisions.len();
        revisions.push(revision(id, parents, k));
    };
    while revisions.len() < n {
        let left = n - revisions.len();
        if until_fork == 0 && left > 2 * 4 * 30 + 1 {
            let fork = tip.clone().expect("a fork has a base before it");
            let ways = 2 + rng.below(3) as usize;
            let mut tips = Vec::with_capacity(ways);
            for _ in 0..ways {
                let length = 1 + rng.below(30) as usize;
                let mut parent = fork.clone();
                for _ in 0..length {
                    let id = fresh_id(&mut rng);
                    push(&mut revisions, id.clone(), vec![parent]);
                    parent = id;
                }
                tips.push(parent);
            }
            shape.branches += ways;
            shape.merges += 1;
            let merge = fresh_id(&mut rng);
            push(&mut revisions, merge.clone(), tips);
            tip = Some(merge);
            until_fork = 20 + rng.below(61) as usize;
        } else {
            let id = fresh_id(&mut rng);
            push(&mut revisions, id.clone(), tip.iter().cloned().collect());
            tip = Some(id);
            until_fork = until_fork.saturating_sub(1);
        }
    }
    shape.revisions = revisions.len();
    // File order is directory order in real life: shuffle it.
    for i in (1..revisions.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        revisions.swap(i, j);
    }
    (Box::leak(revisions.into_boxed_slice()), shape)
}

fn revision(id: String, parents: Vec<String>, k: usize) -> Revision {
    let section = |direction, sql: String| Section {
        direction,
        backend: None,
        sql: Cow::Owned(sql),
        noop: false,
        line: 7,
    };
    Revision {
        slug: Cow::Owned(format!("step_{k}")),
        file_name: Cow::Owned(format!("{id}_step_{k}.sql")),
        message: Cow::Owned(format!("Step {k}")),
        description: Cow::Borrowed(""),
        revises: Cow::Owned(parents.into_iter().map(Cow::Owned).collect()),
        create_date: Some(Cow::Borrowed("2024-01-01 00:00:00")),
        transactional: true,
        timeout: None,
        allow_destructive: false,
        body: Body::Sql(Cow::Owned(vec![
            section(
                Direction::Upgrade,
                format!("CREATE TABLE t{k} (id BIGINT PRIMARY KEY);\n"),
            ),
            section(Direction::Downgrade, format!("DROP TABLE t{k};\n")),
        ])),
        checksum: Cow::Owned(format!("{:064x}", k)),
        id: Cow::Owned(id),
    }
}

pub struct Timing {
    /// The main steps of `Index::new`, replicated here (the index is
    /// private) to attribute `from_checked`'s time: (step, medians in ms).
    pub parts: Vec<(&'static str, f64)>,
    pub from_checked_ms: Vec<f64>,
    /// `compact::decode` of the embedded form (inflating included), per run.
    pub decode_ms: Vec<f64>,
    pub plan_ms: Vec<f64>,
    pub total_ms: Vec<f64>,
    pub plan_all_applied_ms: Vec<f64>,
    pub steps: usize,
}

/// Times `reps` rounds of what a binary's first use does (decoding the
/// compact embedded form, `Graph::from_checked`) + `plan_upgrade(base →
/// head)`, and, for the record, planning with every revision applied
/// (startup).
pub fn run(revisions: &'static [Revision], reps: usize) -> Timing {
    let (text, data) = compact::encode(revisions);
    let data: &'static [u8] = Vec::leak(data);
    let mut timing = Timing {
        parts: parts(revisions, reps),
        decode_ms: Vec::new(),
        from_checked_ms: Vec::new(),
        plan_ms: Vec::new(),
        total_ms: Vec::new(),
        plan_all_applied_ms: Vec::new(),
        steps: 0,
    };
    for _ in 0..reps {
        let t0 = Instant::now();
        let decoded = compact::decode(&text, data);
        let td = Instant::now();
        let graph = Graph::from_checked(decoded);
        let t1 = Instant::now();
        let plan = plan::plan_upgrade(&graph, &[], &Target::Head).expect("plan");
        let t2 = Instant::now();
        assert_eq!(
            plan.steps.len(),
            revisions.len(),
            "base → head applies everything"
        );
        timing.steps = plan.steps.len();
        timing.decode_ms.push(ms(td - t0));
        timing.from_checked_ms.push(ms(t1 - td));
        timing.plan_ms.push(ms(t2 - t1));
        timing.total_ms.push(ms(t2 - t0));
        let applied: Vec<usize> = graph.order().to_vec();
        let t3 = Instant::now();
        let nothing = plan::plan_upgrade(&graph, &applied, &Target::Head).expect("plan");
        timing.plan_all_applied_ms.push(ms(t3.elapsed()));
        assert!(nothing.is_empty());
        drop(graph);
    }
    timing
}

/// What `Index::new` does for `from_checked`, step by step, as written in
/// graph.rs, and the cheaper alternatives the report suggests.
fn parts(revisions: &'static [Revision], reps: usize) -> Vec<(&'static str, f64)> {
    use std::collections::HashMap;
    let n = revisions.len();
    let mut rows: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let mut time = |name: &'static str, f: &mut dyn FnMut()| {
        let mut v = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            f();
            v.push(ms(t.elapsed()));
        }
        rows.push((name, v));
    };
    time(
        "before 2026-11-24: sort indices by ID (`sort_by`, through `&Revision`)",
        &mut || {
            let mut by_id: Vec<usize> = (0..n).collect();
            by_id.sort_by(|&a, &b| revisions[a].id.cmp(&revisions[b].id));
            std::hint::black_box(&by_id);
        },
    );
    time(
        "as in graph.rs now: sort `(&str, index)` keys (`sort_unstable`)",
        &mut || {
            let mut keys: Vec<(&str, usize)> = revisions
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.as_ref(), i))
                .collect();
            keys.sort_unstable();
            std::hint::black_box(&keys);
        },
    );
    time(
        "before 2026-11-24: `HashMap<&str, usize>` (SipHash) of IDs + parent lookups (now FxHash)",
        &mut || {
            let mut first: HashMap<&str, usize> = HashMap::with_capacity(n);
            for (i, r) in revisions.iter().enumerate() {
                first.entry(r.id.as_ref()).or_insert(i);
            }
            let mut links = 0usize;
            for r in revisions {
                links += r.parents().filter_map(|p| first.get(p).copied()).count();
            }
            std::hint::black_box(links);
        },
    );
    let mut v: Vec<(&'static str, f64)> = rows.into_iter().map(|(k, v)| (k, median(&v))).collect();
    v.shrink_to_fit();
    v
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
