//! The body of a SQL revision: its `-- migrate:` sections.

use std::borrow::Cow;

use super::sql_lexer::first_statement_line;
use super::suggest::{Near, closest};
use super::{BackendKind, Diagnostics, Direction, Rule, Section};
use super::{destructive, identifiers};

/// The part of a `-- migrate:` line after `migrate:`, if `line` is one.
fn directive(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("migrate:")
}

/// True for a `-- migrate:` line (the header ends at the first one).
pub(super) fn is_directive(line: &str) -> bool {
    directive(line).is_some()
}

/// A section while its lines are read.
struct Pending {
    direction: Direction,
    backend: Option<BackendKind>,
    line: u32,
    /// Byte range of its SQL: from the line after the directive to the next
    /// directive that ends it.
    start: usize,
    end: usize,
    noop_line: Option<u32>,
}

impl Pending {
    /// The section line as written, e.g. `-- migrate:upgrade postgres`.
    fn directive(&self) -> String {
        section_line(self.direction, self.backend)
    }
}

fn section_line(direction: Direction, backend: Option<BackendKind>) -> String {
    match backend {
        Some(backend) => format!("-- migrate:{direction} {backend}"),
        None => format!("-- migrate:{direction}"),
    }
}

/// Where the lines being read belong.
#[derive(Clone, Copy)]
enum Region {
    /// Between the header and the first directive.
    Preamble,
    /// In `pending[i]`.
    Section(usize),
    /// After a broken directive (reported): the lines belong to no section.
    Void,
}

/// The file being read, for messages.
pub(super) struct SqlFile<'a> {
    /// The normalised text.
    pub text: &'a str,
    /// Byte offset where the header ends.
    pub header_end: usize,
    /// The file as messages name it.
    pub path: &'a str,
    /// `Allow: destructive` was given: upgrades are not scanned.
    pub allow_destructive: bool,
    /// Listed in `released.sum`: it ran where it was released, so the
    /// identifier-length rule does not hold it either.
    pub released: bool,
}

/// Reads and checks the sections of a SQL revision, reporting every problem.
pub(super) fn parse_sections(file: &SqlFile<'_>, diagnostics: &mut Diagnostics) -> Vec<Section> {
    let path = file.path;
    let mut pending: Vec<Pending> = Vec::new();
    let mut region = Region::Preamble;
    let mut preamble_end = file.text.len();
    // A broken directive line may have been meant as any section: whether
    // sections pair up is then unknowable, and is not reported.
    let mut broken = false;
    let mut offset = 0;
    for (line, raw) in (1..).zip(file.text.split_inclusive('\n')) {
        let line_start = offset;
        offset += raw.len();
        if line_start < file.header_end {
            continue;
        }
        let Some(rest) = directive(raw) else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let name = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        if name == "noop" && args.is_empty() {
            match region {
                Region::Section(i) => {
                    pending[i].noop_line.get_or_insert(line);
                }
                Region::Preamble => diagnostics.report(
                    path,
                    Some(line),
                    Rule::UnknownDirective,
                    "`-- migrate:noop` outside a section",
                    "put it under the `-- migrate:upgrade` or `-- migrate:downgrade` line it belongs to",
                ),
                Region::Void => {}
            }
            continue;
        }
        // Any other directive ends the current section.
        match region {
            Region::Preamble => preamble_end = line_start,
            Region::Section(i) => pending[i].end = line_start,
            Region::Void => {}
        }
        region = Region::Void;
        let direction = match name {
            "upgrade" => Direction::Upgrade,
            "downgrade" => Direction::Downgrade,
            _ => {
                broken = true;
                report_unknown_directive(path, line, raw.trim(), name, diagnostics);
                continue;
            }
        };
        let backend = match args.as_slice() {
            [] => None,
            [tag] => match tag.parse::<BackendKind>() {
                Ok(backend) => Some(backend),
                Err(()) => {
                    broken = true;
                    report_unknown_backend(path, line, tag, diagnostics);
                    continue;
                }
            },
            [..] => {
                broken = true;
                diagnostics.report(
                    path,
                    Some(line),
                    Rule::UnknownBackend,
                    format!(
                        "`-- migrate:{direction}` takes one backend, not `{}`",
                        args.join(" ")
                    ),
                    format!(
                        "write one section per backend, e.g. `-- migrate:{direction} {}`",
                        args[0]
                    ),
                );
                continue;
            }
        };
        if let Some(first) = pending
            .iter()
            .find(|p| p.direction == direction && p.backend == backend)
        {
            let directive = first.directive();
            diagnostics.report(
                path,
                Some(line),
                Rule::DuplicateSection,
                format!(
                    "`{directive}` section appears twice (first on line {})",
                    first.line
                ),
                format!("merge the two `{directive}` sections into one"),
            );
            continue;
        }
        region = Region::Section(pending.len());
        pending.push(Pending {
            direction,
            backend,
            line,
            start: offset,
            end: file.text.len(),
            noop_line: None,
        });
    }

    let preamble_start = file.header_end.min(preamble_end);
    let preamble = &file.text[preamble_start..preamble_end];
    let preamble_line = line_of(file.text, preamble_start);
    if let Some(line) = first_statement_line(preamble, preamble_line) {
        diagnostics.report(
            path,
            Some(line),
            Rule::SqlBeforeSection,
            "SQL before the first `-- migrate:` section",
            "move it under a `-- migrate:upgrade` or `-- migrate:downgrade` line",
        );
    }

    let sections: Vec<Section> = pending
        .iter()
        .map(|p| check_section(file, p, diagnostics))
        .collect();
    if pending.is_empty() && !broken {
        diagnostics.report(
            path,
            None,
            Rule::EmptySection,
            "no `-- migrate:upgrade` section",
            "add a `-- migrate:upgrade` line followed by the upgrade SQL, and a `-- migrate:downgrade` line followed by the SQL that undoes it",
        );
    }
    if !broken {
        check_pairs(path, &pending, diagnostics);
    }
    if !file.released {
        identifiers::check(path, &sections, diagnostics);
    }
    sections
}

/// The 1-based line on which byte `offset` of `text` is.
fn line_of(text: &str, offset: usize) -> u32 {
    let newlines = text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines).map_or(u32::MAX, |n| n.saturating_add(1))
}

/// Checks one section's content and builds it.
fn check_section(file: &SqlFile<'_>, p: &Pending, diagnostics: &mut Diagnostics) -> Section {
    let path = file.path;
    let sql = file.text[p.start..p.end].trim_end();
    let first_line = p.line.saturating_add(1);
    let statement = first_statement_line(sql, first_line);
    let directive = p.directive();
    match (p.noop_line, statement) {
        (Some(noop), Some(_)) => diagnostics.report(
            path,
            Some(noop),
            Rule::EmptySection,
            format!("`{directive}` section holds both `-- migrate:noop` and SQL statements, which contradict"),
            "remove `-- migrate:noop`, or remove the statements",
        ),
        (None, None) => diagnostics.report(
            path,
            Some(p.line),
            Rule::EmptySection,
            format!("`{directive}` section has no SQL statement"),
            "write its SQL, or add `-- migrate:noop` under it if there is nothing to do on purpose",
        ),
        _ => {}
    }
    if p.direction == Direction::Upgrade && !file.allow_destructive {
        for finding in destructive::scan(sql, first_line) {
            diagnostics.report(
                path,
                Some(finding.line),
                Rule::Destructive,
                format!("upgrade {}", finding.what),
                "if losing this data is intended, add `-- Allow: destructive` to the header (or `destructive` to its `Allow:` list); otherwise move it to the downgrade",
            );
        }
    }
    Section {
        direction: p.direction,
        backend: p.backend,
        sql: Cow::Owned(sql.to_owned()),
        noop: p.noop_line.is_some(),
        line: p.line,
    }
}

fn report_unknown_directive(
    path: &str,
    line: u32,
    written: &str,
    name: &str,
    diagnostics: &mut Diagnostics,
) {
    let suggestion = closest(name, ["upgrade", "downgrade", "noop"], Near::Any, 1)
        .first()
        .copied()
        .unwrap_or("upgrade");
    diagnostics.report(
        path,
        Some(line),
        Rule::UnknownDirective,
        format!("unknown directive `{written}`"),
        format!("did you mean `-- migrate:{suggestion}`? (the directives are `upgrade`, `downgrade` and `noop`)"),
    );
}

fn report_unknown_backend(path: &str, line: u32, tag: &str, diagnostics: &mut Diagnostics) {
    let tags = BackendKind::ALL.map(BackendKind::tag);
    let help = match closest(tag, tags, Near::Edits(3), 1)[..] {
        [known] => {
            format!("did you mean `{known}`? (the backends are `postgres`, `sqlite` and `mysql`)")
        }
        _ => "write `postgres`, `sqlite` or `mysql`, or no backend for a section that serves every backend".to_owned(),
    };
    diagnostics.report(
        path,
        Some(line),
        Rule::UnknownBackend,
        format!("unknown backend `{tag}`"),
        help,
    );
}

/// Every backend with upgrade SQL must have downgrade SQL, and the reverse.
/// Reported once per section that serves a backend lacking the other side.
fn check_pairs(path: &str, pending: &[Pending], diagnostics: &mut Diagnostics) {
    let serving = |direction: Direction, backend: BackendKind| {
        let mut in_direction = pending.iter().filter(move |p| p.direction == direction);
        in_direction
            .clone()
            .find(|p| p.backend == Some(backend))
            .or_else(|| in_direction.find(|p| p.backend.is_none()))
    };
    for section in pending {
        let other = match section.direction {
            Direction::Upgrade => Direction::Downgrade,
            Direction::Downgrade => Direction::Upgrade,
        };
        let lacking: Vec<BackendKind> = BackendKind::ALL
            .into_iter()
            .filter(|&b| serving(section.direction, b).is_some_and(|s| s.line == section.line))
            .filter(|&b| serving(other, b).is_none())
            .collect();
        if lacking.is_empty() {
            continue;
        }
        let (message, add) = match section.backend {
            Some(backend) => (
                format!(
                    "{} section for `{backend}` has no {other}",
                    section.direction
                ),
                format!("a `{}` section", section_line(other, Some(backend))),
            ),
            None if lacking.len() == BackendKind::ALL.len() => (
                format!("{} section has no {other}", section.direction),
                format!("a `{}` section", section_line(other, None)),
            ),
            None => {
                let lines = lacking
                    .iter()
                    .map(|&b| format!("`{}`", section_line(other, Some(b))))
                    .collect::<Vec<_>>();
                let names = lacking.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>();
                (
                    format!(
                        "{} section has no {other} for {}",
                        section.direction,
                        names.join(" and ")
                    ),
                    format!("{} sections", lines.join(" and ")),
                )
            }
        };
        let help = match other {
            Direction::Downgrade => format!(
                "add {add} to undo the upgrade (with `-- migrate:noop` if there is nothing to undo)"
            ),
            Direction::Upgrade => format!("add {add}, or remove the downgrade"),
        };
        diagnostics.report(
            path,
            Some(section.line),
            Rule::MissingDowngrade,
            message,
            help,
        );
    }
}
