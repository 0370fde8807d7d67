//! The header of a revision file: its message, description and fields.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::is_revision_id;
use super::sections::is_directive;
use super::suggest::{Near, closest};
use super::{Diagnostics, OnlineRule, Rule};

/// One line of the header, its comment prefix (`--`, `//!`) removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HeaderLine<'a> {
    /// 1-based line in the file.
    pub line: u32,
    /// The text after the prefix and one space, trailing space removed.
    pub text: &'a str,
}

/// The header of `text`: its comment lines (with `prefix`, blank lines among
/// them allowed) up to the first other line or `-- migrate:` directive. Also
/// returns the byte offset where the header ends.
pub(super) fn split_header<'a>(text: &'a str, prefix: &str) -> (Vec<HeaderLine<'a>>, usize) {
    let mut lines = Vec::new();
    let mut offset = 0;
    for (line, raw) in (1..).zip(text.split_inclusive('\n')) {
        let trimmed = raw.trim();
        let comment = if trimmed.is_empty() {
            ""
        } else {
            match trimmed.strip_prefix(prefix) {
                Some(rest) if !is_directive(trimmed) => rest.strip_prefix(' ').unwrap_or(rest),
                _ => break,
            }
        };
        lines.push(HeaderLine {
            line,
            text: comment.trim_end(),
        });
        offset += raw.len();
    }
    (lines, offset)
}

/// A field of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    RevisionId,
    Revises,
    CreateDate,
    Transaction,
    Timeout,
    Allow,
}

impl Field {
    const ALL: [Field; 6] = [
        Field::RevisionId,
        Field::Revises,
        Field::CreateDate,
        Field::Transaction,
        Field::Timeout,
        Field::Allow,
    ];

    fn name(self) -> &'static str {
        match self {
            Field::RevisionId => "Revision ID",
            Field::Revises => "Revises",
            Field::CreateDate => "Create Date",
            Field::Transaction => "Transaction",
            Field::Timeout => "Timeout",
            Field::Allow => "Allow",
        }
    }

    /// The name lowercased without spaces, for near-miss comparison.
    fn squashed(self) -> &'static str {
        match self {
            Field::RevisionId => "revisionid",
            Field::Revises => "revises",
            Field::CreateDate => "createdate",
            Field::Transaction => "transaction",
            Field::Timeout => "timeout",
            Field::Allow => "allow",
        }
    }
}

/// What a `Key: value` line is.
enum KeyMatch {
    /// A known field.
    Field(Field),
    /// A near miss of a known field (edit distance 1 or 2).
    Misspelt(Field),
    /// Neither: the line is free text.
    Text,
}

/// True when `key` (the part before the `:` of a header line) is a header
/// field's key or a near miss of one: such a line is never a message.
pub fn is_field_key(key: &str) -> bool {
    !matches!(match_key(key), KeyMatch::Text)
}

fn match_key(key: &str) -> KeyMatch {
    let words: Vec<&str> = key.split_whitespace().collect();
    let normalised = words.join(" ");
    if let Some(field) = Field::ALL
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(&normalised))
    {
        return KeyMatch::Field(field);
    }
    let squashed = words.concat().to_lowercase();
    let names = Field::ALL.map(Field::squashed);
    match closest(&squashed, names, Near::Edits(2), 1)[..] {
        [name] => Field::ALL
            .into_iter()
            .find(|f| f.squashed() == name)
            .map_or(KeyMatch::Text, KeyMatch::Misspelt),
        _ => KeyMatch::Text,
    }
}

/// Where the header is and how it is written, for messages.
pub(super) struct Context<'a> {
    /// The file as messages name it.
    pub path: &'a str,
    /// The file name's `<rev>`.
    pub rev: &'a str,
    /// The comment prefix of header lines: `--` or `//!`.
    pub prefix: &'a str,
}

/// The header, parsed. Field values that did not parse are left at their
/// defaults (the problem is reported).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Header {
    pub message: Option<String>,
    pub description: String,
    /// The line of `Revision ID:`, when given.
    pub id_line: Option<u32>,
    /// The line of `Revises:`, when given.
    pub revises_line: Option<u32>,
    pub revises: Vec<String>,
    pub create_date: Option<String>,
    pub transactional: bool,
    pub timeout: Option<Duration>,
    pub allow_destructive: bool,
    /// The online-safety rules `Allow:` names.
    pub allowed: Vec<OnlineRule>,
}

/// Parses the header lines, reporting every problem.
pub(super) fn parse_header(
    lines: &[HeaderLine<'_>],
    cx: &Context<'_>,
    diagnostics: &mut Diagnostics,
) -> Header {
    let mut header = Header {
        transactional: true,
        ..Header::default()
    };
    let mut seen: [Option<u32>; Field::ALL.len()] = [None; Field::ALL.len()];
    let mut free = Vec::new();
    let mut first = true;
    for line in lines {
        let text = line.text.trim();
        if text.is_empty() {
            if !first {
                free.push("");
            }
            continue;
        }
        let is_first = std::mem::take(&mut first);
        let key_match = text
            .split_once(':')
            .map(|(key, value)| (match_key(key), key.trim(), value.trim()));
        match key_match {
            Some((KeyMatch::Field(field), _, value)) => {
                if let Some(first_line) = seen[field as usize] {
                    diagnostics.report(
                        cx.path,
                        Some(line.line),
                        Rule::DuplicateField,
                        format!(
                            "`{}` is given twice (first on line {first_line})",
                            field.name()
                        ),
                        format!("remove one of the two `{}` lines", field.name()),
                    );
                } else {
                    seen[field as usize] = Some(line.line);
                    read_field(field, value, line.line, cx, &mut header, diagnostics);
                }
            }
            Some((KeyMatch::Misspelt(field), key, _)) => diagnostics.report(
                cx.path,
                Some(line.line),
                Rule::MisspeltField,
                format!("unknown header field `{key}`"),
                format!("did you mean `{}`?", field.name()),
            ),
            None | Some((KeyMatch::Text, ..)) if is_first => header.message = Some(text.to_owned()),
            None | Some((KeyMatch::Text, ..)) => free.push(line.text),
        }
    }
    while free.last() == Some(&"") {
        free.pop();
    }
    let start = free
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(free.len());
    header.description = free[start..].join("\n");

    let p = cx.prefix;
    if header.id_line.is_none() {
        diagnostics.report(
            cx.path,
            Some(1),
            Rule::MissingField,
            "missing `Revision ID` field",
            format!("add `{p} Revision ID: {}` to the header", cx.rev),
        );
    }
    if header.revises_line.is_none() {
        diagnostics.report(
            cx.path,
            Some(1),
            Rule::MissingField,
            "missing `Revises` field",
            format!(
                "add `{p} Revises: <parent ID>` to the header, or `{p} Revises:` with nothing after it for the base revision"
            ),
        );
    }
    header
}

/// Checks and stores the value of `field`, given on `line`.
fn read_field(
    field: Field,
    value: &str,
    line: u32,
    cx: &Context<'_>,
    header: &mut Header,
    diagnostics: &mut Diagnostics,
) {
    let p = cx.prefix;
    let mut bad = |message: String, help: String| {
        diagnostics.report(cx.path, Some(line), Rule::BadFieldValue, message, help);
    };
    match field {
        Field::RevisionId => {
            header.id_line = Some(line);
            if value != cx.rev {
                let rename = if is_revision_id(value) {
                    format!(", or rename the file to start with `{value}_`")
                } else {
                    String::new()
                };
                bad(
                    format!(
                        "`Revision ID` is `{value}` but the file name says `{}`",
                        cx.rev
                    ),
                    format!("write `{p} Revision ID: {}`{rename}", cx.rev),
                );
            }
        }
        Field::Revises => {
            header.revises_line = Some(line);
            if value.is_empty() {
                return;
            }
            for parent in value.split(',').map(str::trim) {
                if is_revision_id(parent) {
                    header.revises.push(parent.to_owned());
                } else {
                    let message = if parent.is_empty() {
                        "`Revises` has an empty entry".to_owned()
                    } else {
                        format!("`Revises` lists `{parent}`, which is not a revision ID")
                    };
                    bad(
                        message,
                        format!(
                            "list parent IDs (1 to 64 letters or digits) separated by commas, e.g. `{p} Revises: 002, 003`"
                        ),
                    );
                }
            }
        }
        Field::CreateDate => {
            if is_date(value) {
                header.create_date = Some(value.to_owned());
            } else {
                bad(
                    format!("`Create Date` `{value}` is not a date"),
                    format!(
                        "write `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or an RFC 3339 timestamp, e.g. `{p} Create Date: 2024-01-01 00:00:00`"
                    ),
                );
            }
        }
        Field::Transaction => {
            if value.eq_ignore_ascii_case("true") {
                header.transactional = true;
            } else if value.eq_ignore_ascii_case("false") {
                header.transactional = false;
            } else {
                bad(
                    format!("`Transaction` must be `true` or `false`, not `{value}`"),
                    format!(
                        "write `{p} Transaction: false` to run this revision outside a transaction, or remove the line"
                    ),
                );
            }
        }
        Field::Timeout => match parse_duration(value) {
            Some(timeout) => header.timeout = Some(timeout),
            None => bad(
                format!("`Timeout` `{value}` is not a duration"),
                format!(
                    "write a positive whole number followed by `ms`, `s`, `m` or `h`, e.g. `{p} Timeout: 30s`"
                ),
            ),
        },
        Field::Allow => {
            for name in value.split(',').map(str::trim) {
                if name.eq_ignore_ascii_case("destructive") {
                    header.allow_destructive = true;
                } else if let Some(rule) = OnlineRule::from_name(name) {
                    header.allowed.push(rule);
                } else {
                    let names = std::iter::once("destructive")
                        .chain(OnlineRule::ALL.into_iter().map(OnlineRule::name));
                    let nearest = closest(&name.to_ascii_lowercase(), names, Near::Edits(4), 1);
                    let message = if name.is_empty() {
                        "`Allow` has an empty entry".to_owned()
                    } else {
                        format!("`Allow` names `{name}`, which is no rule")
                    };
                    let nearest = nearest
                        .first()
                        .map_or(String::new(), |n| format!("did you mean `{n}`? "));
                    bad(
                        message,
                        format!(
                            "{nearest}`Allow` takes `destructive` and the names of the PostgreSQL online-safety rules, separated by commas, e.g. `{p} Allow: destructive, renaming-column`"
                        ),
                    );
                }
            }
        }
    }
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (fractional seconds allowed) or RFC 3339.
fn is_date(value: &str) -> bool {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
        || NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || DateTime::parse_from_rfc3339(value).is_ok()
}

/// Parses a duration as FORMAT.md writes them (`Timeout:`, and the
/// runtime's timeout options): a positive whole number followed by `ms`,
/// `s`, `m` or `h`, e.g. `250ms`, `30s`, `5m`.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let split = value.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().ok().filter(|&n| n > 0)?;
    let seconds = |factor: u64| number.checked_mul(factor).map(Duration::from_secs);
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Header, Diagnostics) {
        let (lines, _) = split_header(text, "--");
        let mut diagnostics = Diagnostics::new();
        let cx = Context {
            path: "m/001_x.sql",
            rev: "001",
            prefix: "--",
        };
        let header = parse_header(&lines, &cx, &mut diagnostics);
        (header, diagnostics)
    }

    fn problems(diagnostics: &Diagnostics) -> Vec<(Option<u32>, Rule)> {
        diagnostics.iter().map(|d| (d.line, d.rule)).collect()
    }

    #[test]
    fn splits_at_the_first_directive_or_other_line() {
        let text = "-- a\n\n--b\n-- migrate:upgrade\nx";
        let (lines, end) = split_header(text, "--");
        let texts: Vec<_> = lines.iter().map(|l| (l.line, l.text)).collect();
        assert_eq!(texts, [(1, "a"), (2, ""), (3, "b")]);
        assert_eq!(&text[end..], "-- migrate:upgrade\nx");
        let (lines, end) = split_header("//! a\n//!\nuse x;\n//! b", "//!");
        assert_eq!(lines.len(), 2);
        assert_eq!(end, 10);
    }

    #[test]
    fn reads_message_description_and_fields() {
        let (header, diagnostics) = parse(
            "-- Add api_keys table\n--\n-- Long text\n--   indented\n-- Note: not a field\n--\n\
             -- revision   id: 001\n-- Revises: 002 , abc\n-- Create Date: 2024-01-01 00:00:00\n\
             -- Transaction: FALSE\n-- Timeout: 250ms\n-- Allow: destructive\n--\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics}");
        assert_eq!(header.message.as_deref(), Some("Add api_keys table"));
        assert_eq!(
            header.description,
            "Long text\n  indented\nNote: not a field"
        );
        assert_eq!(header.id_line, Some(7));
        assert_eq!(header.revises_line, Some(8));
        assert_eq!(header.revises, ["002", "abc"]);
        assert_eq!(header.create_date.as_deref(), Some("2024-01-01 00:00:00"));
        assert!(!header.transactional);
        assert_eq!(header.timeout, Some(Duration::from_millis(250)));
        assert!(header.allow_destructive);
    }

    #[test]
    fn a_field_first_leaves_no_message() {
        let (header, diagnostics) = parse("-- Revision ID: 001\n-- Revises:\n-- Later text\n");
        assert!(diagnostics.is_empty(), "{diagnostics}");
        assert_eq!(header.message, None);
        assert_eq!(header.description, "Later text");
        assert!(header.revises.is_empty());
        assert!(header.transactional);
    }

    #[test]
    fn accepted_dates_and_durations() {
        for date in [
            "2024-01-01",
            "2024-01-01 10:11:12",
            "2024-01-01 10:11:12.123456",
            "2024-01-01T10:11:12Z",
            "2024-01-01T10:11:12+02:00",
        ] {
            assert!(is_date(date), "{date}");
        }
        for date in ["", "2024-13-01", "01/02/2024", "2024-01-01 25:00:00"] {
            assert!(!is_date(date), "{date}");
        }
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in [
            "",
            "0s",
            "s",
            "30",
            "30 s",
            "-1s",
            "1.5s",
            "30x",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(parse_duration(&format!("{}h", u64::MAX)), None);
    }

    #[test]
    fn missing_fields() {
        let (header, diagnostics) = parse("-- Just a message\n");
        assert_eq!(header.id_line, None);
        assert_eq!(
            problems(&diagnostics),
            [(Some(1), Rule::MissingField), (Some(1), Rule::MissingField)]
        );
        let text = diagnostics.to_string();
        assert!(text.contains("missing `Revision ID` field"), "{text}");
        assert!(
            text.contains("add `-- Revision ID: 001` to the header"),
            "{text}"
        );
        assert!(text.contains("missing `Revises` field"), "{text}");
    }

    #[test]
    fn duplicate_fields_point_at_the_second() {
        let (header, diagnostics) =
            parse("-- Revision ID: 001\n-- Revises: 000\n-- Revises: 002\n");
        assert_eq!(problems(&diagnostics), [(Some(3), Rule::DuplicateField)]);
        assert_eq!(header.revises, ["000"]);
        assert!(
            diagnostics
                .to_string()
                .contains("`Revises` is given twice (first on line 2)")
        );
    }

    #[test]
    fn misspelt_fields_suggest_the_right_key() {
        let (_, diagnostics) = parse(
            "-- Revison ID: 001\n-- Revices:\n-- RevisionID: 001\n-- Revision ID: 001\n-- Revises:\n-- See: docs\n",
        );
        assert_eq!(
            problems(&diagnostics),
            [
                (Some(1), Rule::MisspeltField),
                (Some(2), Rule::MisspeltField),
                (Some(3), Rule::MisspeltField)
            ]
        );
        let text = diagnostics.to_string();
        assert!(text.contains("unknown header field `Revison ID` [misspelt-field]\n  help: did you mean `Revision ID`?"), "{text}");
        assert!(text.contains("did you mean `Revises`?"), "{text}");
    }

    #[test]
    fn bad_values() {
        let (header, diagnostics) = parse(
            "-- Revision ID: 002\n-- Revises: 0-1, ,003\n-- Create Date: yesterday\n\
             -- Transaction: maybe\n-- Timeout: 30x\n-- Allow: everything\n",
        );
        assert_eq!(
            problems(&diagnostics),
            [
                (Some(1), Rule::BadFieldValue),
                (Some(2), Rule::BadFieldValue),
                (Some(2), Rule::BadFieldValue),
                (Some(3), Rule::BadFieldValue),
                (Some(4), Rule::BadFieldValue),
                (Some(5), Rule::BadFieldValue),
                (Some(6), Rule::BadFieldValue),
            ]
        );
        assert_eq!(header.revises, ["003"]);
        assert_eq!(header.id_line, Some(1));
        let text = diagnostics.to_string();
        for expected in [
            "`Revision ID` is `002` but the file name says `001`",
            "help: write `-- Revision ID: 001`, or rename the file to start with `002_`",
            "`Revises` lists `0-1`, which is not a revision ID",
            "`Revises` has an empty entry",
            "`Create Date` `yesterday` is not a date",
            "`Transaction` must be `true` or `false`, not `maybe`",
            "`Timeout` `30x` is not a duration",
            "`Allow` names `everything`, which is no rule",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
    }

    #[test]
    fn allow_is_a_list_of_rules() {
        let (header, diagnostics) = parse(
            "-- Revision ID: 001\n-- Revises:\n-- Allow: Destructive, renaming-column ,require-concurrent-index-creation\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics}");
        assert!(header.allow_destructive);
        assert_eq!(
            header.allowed,
            [
                OnlineRule::RenamingColumn,
                OnlineRule::RequireConcurrentIndexCreation
            ]
        );
        let (_, diagnostics) =
            parse("-- Revision ID: 001\n-- Revises:\n-- Allow: renaming-colum, destrutive,\n");
        assert_eq!(
            problems(&diagnostics),
            [
                (Some(3), Rule::BadFieldValue),
                (Some(3), Rule::BadFieldValue),
                (Some(3), Rule::BadFieldValue)
            ]
        );
        let text = diagnostics.to_string();
        assert!(text.contains("`Allow` names `renaming-colum`, which is no rule [bad-field-value]\n  help: did you mean `renaming-column`?"), "{text}");
        assert!(text.contains("did you mean `destructive`?"), "{text}");
        assert!(text.contains("`Allow` has an empty entry"), "{text}");
    }
}
