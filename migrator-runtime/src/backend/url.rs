//! Database URLs: which backend they name, how to print them without their
//! passwords, and the parameters migrator adds to the connections it opens.
//!
//! One redaction serves every place a URL or a connection string is shown
//! (errors, events, logs): [`redact`] masks the userinfo password of every
//! URL and the value of every parameter whose name ends in `password`
//! (`password`, `sslpassword`; any case, percent-encoded names too), every
//! occurrence. [`DatabaseUrl::scrub`] also masks the password's own text in
//! a driver's message, which may quote it without its key (libpq splits a
//! password holding a raw `@` or `/` and names a piece as a host or port).

use std::ops::Range;

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::error::Error;
use crate::model::BackendKind;

/// A database URL, classified by backend.
///
/// | URL | backend |
/// | --- | --- |
/// | `postgres://user:pw@host:5432/db`, `postgresql://…` | PostgreSQL |
/// | `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, `sqlite::memory:` | SQLite |
/// | `mysql://user:pw@host:3306/db`, `mariadb://…` | MySQL or MariaDB |
/// | a bare path such as `factory-service.db` | SQLite |
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    kind: BackendKind,
    original: String,
    connect: String,
}

impl DatabaseUrl {
    /// Classifies `url`. An empty URL or an unknown scheme is an error that
    /// lists the accepted forms.
    pub fn parse(url: &str) -> Result<DatabaseUrl, Error> {
        let bad = |reason: &str| Error::BadUrl {
            url: redact(url),
            reason: reason.to_owned(),
        };
        let url = url.trim();
        if url.is_empty() {
            return Err(Error::BadUrl { url: String::new(), reason: "the URL is empty".to_owned() });
        }
        let (kind, connect) = match url.split_once("://") {
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                // libpq knows only the lower-case schemes.
                "postgres" | "postgresql" => (BackendKind::Postgres, format!("postgres://{rest}")),
                "sqlite" if rest.is_empty() => return Err(bad("the SQLite URL names no file")),
                "sqlite" => (BackendKind::Sqlite, rest.to_owned()),
                "mysql" | "mariadb" => (BackendKind::Mysql, format!("mysql://{rest}")),
                other => {
                    return Err(bad(&format!(
                        "unknown scheme `{other}`; use postgres://, sqlite://, mysql://, mariadb:// or a file path"
                    )));
                }
            },
            // A libpq connection string (`host=… dbname=…`), not a file name.
            None if is_key_value(url) => (BackendKind::Postgres, url.to_owned()),
            None => match url.strip_prefix("sqlite:") {
                Some(":memory:") => (BackendKind::Sqlite, ":memory:".to_owned()),
                Some(path) if !path.is_empty() => (BackendKind::Sqlite, path.to_owned()),
                _ => (BackendKind::Sqlite, url.to_owned()),
            },
        };
        Ok(DatabaseUrl {
            kind,
            original: url.to_owned(),
            connect,
        })
    }

    /// The backend the URL names.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// What the driver is given: the URL for servers, the path for SQLite.
    pub fn connect_str(&self) -> &str {
        &self.connect
    }

    /// The URL with libpq's `connect_timeout` (whole seconds, at least 2,
    /// as libpq counts them) unless it names one itself, so that a server
    /// that never answers does not hang the connection. Only PostgreSQL
    /// connects over the network.
    pub fn with_connect_timeout(self, timeout: std::time::Duration) -> DatabaseUrl {
        let seconds = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(2);
        self.with_default("connect_timeout", &seconds.to_string())
    }

    /// The URL with libpq's `fallback_application_name` set to `name`, so
    /// that `pg_stat_activity` (and a lock wait) shows who holds the
    /// connection. An `application_name` in the URL (or in `PGAPPNAME`)
    /// wins, as does the URL's own `fallback_application_name`.
    pub(crate) fn with_application_name(self, name: &str) -> DatabaseUrl {
        self.with_default("fallback_application_name", name)
    }

    /// The URL with the PostgreSQL parameter `key=value` added, unless it
    /// has a `key` of its own.
    fn with_default(mut self, key: &str, value: &str) -> DatabaseUrl {
        let form = Form::of(&self.connect);
        // Where libpq reads parameters: a URL's query (see `query_start`).
        let from = match form {
            Form::Url => query_start(&self.connect),
            Form::KeyValue | Form::Text => Some(0),
        };
        let present = from.is_some_and(|from| {
            params(&self.connect, form, from)
                .iter()
                .any(|p| p.key == key)
        });
        if self.kind != BackendKind::Postgres || present {
            return self;
        }
        let parameter = match form {
            Form::KeyValue if value.chars().all(|c| c.is_ascii_alphanumeric()) => {
                format!(" {key}={value}")
            }
            Form::KeyValue => format!(
                " {key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            ),
            Form::Url | Form::Text => {
                let separator = if query_start(&self.connect).is_some() {
                    '&'
                } else {
                    '?'
                };
                format!("{separator}{key}={}", utf8_percent_encode(value, NON_ALPHANUMERIC))
            }
        };
        self.connect.push_str(&parameter);
        self
    }

    /// The URL with its passwords replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        redact(&self.original)
    }

    /// `text` (a driver's message about this URL) redacted, and with the
    /// text of each of the URL's passwords replaced by `***`: as written,
    /// percent-decoded or unquoted, and every piece of it between the
    /// characters that split a URL (libpq splits a URL whose password holds
    /// a raw `@` at the first `@`, and may quote the rest as a host name).
    pub fn scrub(&self, text: &str) -> String {
        let mut secrets = Vec::new();
        for range in secret_ranges(&self.original) {
            let raw = &self.original[range];
            for secret in [raw.to_owned(), percent_decode(raw), unquote(raw)] {
                secrets.extend(
                    secret
                        .split(|c: char| c.is_whitespace() || "@/?#:&=,;[]'\"\\".contains(c))
                        .filter(|piece| piece.chars().count() >= 3)
                        .map(str::to_owned),
                );
                if secret.chars().count() >= 2 {
                    secrets.push(secret);
                }
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let mut text = redact(text);
        for secret in secrets {
            text = text.replace(&secret, "***");
        }
        text
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("kind", &self.kind)
            .field("url", &self.redacted())
            .finish()
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replaces every password in `text` with `***`: the userinfo password of
/// every URL (`scheme://user:password@host`, any scheme: `postgres://`,
/// `mysql://`, `mariadb://`, `sqlite://`…) and the value of every parameter
/// whose name ends in `password` (`password`, `sslpassword`), in a query
/// string or a libpq `key=value` string, in any case, with a percent-encoded
/// name or not, quoted or not, however often it appears. `text` may be one
/// URL, one `key=value` string, or a message that quotes them. Text without
/// a password is returned unchanged.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    for range in secret_ranges(text).into_iter().rev() {
        out.replace_range(range, "***");
    }
    out
}

/// How a text holds connection parameters, which decides where a value ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// The whole text is one URL: `scheme://user:password@host/db?k=v&…`. A
    /// value ends at `&`.
    Url,
    /// A libpq `key=value` string: a value is `'quoted'` (with `\'` and
    /// `\\`) or ends at white space not escaped by `\`.
    KeyValue,
    /// Anything else (a driver's message): URLs anywhere, a value ends at
    /// white space, `&`, `"` or a backtick, or is `'quoted'`.
    Text,
}

impl Form {
    fn of(text: &str) -> Form {
        if scheme_len(text).is_some() {
            Form::Url
        } else if is_key_value(text) {
            Form::KeyValue
        } else {
            Form::Text
        }
    }
}

/// The length of the `scheme://` that `text` starts with.
fn scheme_len(text: &str) -> Option<usize> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)))
        .then_some(scheme.len() + "://".len())
}

/// Where libpq finds the `@` that ends the userinfo of `url` (one URL):
/// the first `@` after `scheme://` that comes before any `/`
/// (`conninfo_uri_parse_options`); `None` when there is no userinfo.
fn libpq_userinfo_at(url: &str) -> Option<usize> {
    let start = scheme_len(url)?;
    let first = start + url[start..].find(['@', '/'])?;
    (url.as_bytes()[first] == b'@').then_some(first)
}

/// Where libpq finds the query of `url` (one URL): the first `?` after
/// its userinfo (a password may hold a raw `?`; a host, a port or a
/// database name cannot).
fn query_start(url: &str) -> Option<usize> {
    let from = libpq_userinfo_at(url).or_else(|| scheme_len(url))?;
    url[from..].find('?').map(|q| from + q)
}

/// Where the password of `scheme://user:password@host…` is in `url` (one
/// URL), generously: a password may hold `/`, `?`, `#` and a raw `@` (which
/// libpq splits at), so the userinfo ends at the last `@`; but where libpq
/// finds a userinfo, the last `@` before the query, whose values may hold
/// an `@` of their own (`application_name=ci@job`).
fn userinfo_password(url: &str) -> Option<Range<usize>> {
    let start = scheme_len(url)?;
    let end = match libpq_userinfo_at(url) {
        Some(_) => query_start(url).unwrap_or(url.len()),
        None => url.len(),
    };
    let rest = &url[start..end];
    let at = rest.rfind('@')?;
    let colon = rest[..at].find(':')?;
    // A `/` before the `:` means the `@` was in the path, not a userinfo.
    (!rest[..colon].contains('/')).then_some(start + colon + 1..start + at)
}

/// A `key=value` parameter: its name percent-decoded in lower case, and
/// where its value is.
struct Param {
    key: String,
    value: Range<usize>,
}

/// A parameter whose value is a secret: `password`, `sslpassword`…
fn is_secret(key: &str) -> bool {
    key.ends_with("password")
}

/// Every `key=value` in `text` from `from` (a URL's query, or after its
/// userinfo; 0 for other forms): a key is a whole
/// run of letters, digits and `_.%+-`. The value of a secret is skipped; the
/// values of other parameters are searched too (a `password=` inside them
/// counts), so that a misjudged end never hides a parameter.
fn params(text: &str, form: Form, from: usize) -> Vec<Param> {
    let bytes = text.as_bytes();
    let is_key = |b: u8| b.is_ascii_alphanumeric() || b"_.%+-".contains(&b);
    let skip_space = |mut i: usize| {
        while form != Form::Url && bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut found = Vec::new();
    let mut i = from;
    while i < bytes.len() {
        if !is_key(bytes[i]) {
            i += 1;
            continue;
        }
        let key_start = i;
        while i < bytes.len() && is_key(bytes[i]) {
            i += 1;
        }
        let equals = skip_space(i);
        if bytes.get(equals) != Some(&b'=') {
            continue;
        }
        let start = skip_space(equals + 1);
        let end = value_end(bytes, start, form);
        let key = percent_decode(&text[key_start..i]).to_ascii_lowercase();
        if is_secret(&key) {
            i = end;
        } else {
            i = start;
        }
        found.push(Param {
            key,
            value: start..end,
        });
    }
    found
}

/// Where the value starting at `start` ends (see [`Form`]).
fn value_end(bytes: &[u8], start: usize, form: Form) -> usize {
    let len = bytes.len();
    let mut i = start;
    if form != Form::Url && bytes.get(i) == Some(&b'\'') {
        i += 1;
        while i < len {
            match bytes[i] {
                b'\\' => i += 2,
                b'\'' => return i + 1,
                _ => i += 1,
            }
        }
        return len;
    }
    while i < len {
        match (form, bytes[i]) {
            (Form::Url, b'&') => return i,
            (Form::KeyValue, b'\\') => i += 1,
            (Form::KeyValue | Form::Text, b) if b.is_ascii_whitespace() => return i,
            (Form::Text, b'&' | b'"' | b'`') => return i,
            _ => {}
        }
        i += 1;
    }
    len
}

/// Every URL in a text that is not one URL: from its scheme to white space,
/// a double quote, a backtick or an angle bracket.
fn urls_in(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let is_scheme = |c: char| c.is_ascii_alphanumeric() || "+.-".contains(c);
    text.match_indices("://").filter_map(move |(at, _)| {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_scheme(c))
            .last()
            .map(|(i, _)| i)?;
        let end = text[at..]
            .find(|c: char| c.is_whitespace() || "\"`<>".contains(c))
            .map_or(text.len(), |end| at + end);
        Some(start..end)
    })
}

/// Where the secrets of `text` are, sorted, overlaps merged, empty ones
/// left out.
fn secret_ranges(text: &str) -> Vec<Range<usize>> {
    let form = Form::of(text);
    let mut ranges: Vec<Range<usize>> = match form {
        Form::Url => userinfo_password(text).into_iter().collect(),
        Form::KeyValue | Form::Text => urls_in(text)
            .filter_map(|url| {
                userinfo_password(&text[url.clone()])
                    .map(|p| url.start + p.start..url.start + p.end)
            })
            .collect(),
    };
    let from = match form {
        Form::Url => userinfo_password(text).map_or(0, |p| p.end),
        Form::KeyValue | Form::Text => 0,
    };
    ranges.extend(
        params(text, form, from)
            .into_iter()
            .filter(|p| is_secret(&p.key))
            .map(|p| p.value),
    );
    ranges.retain(|r| !r.is_empty());
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

fn percent_decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// A libpq value without its quotes and backslash escapes.
fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('\'')
        .map_or(value, |v| v.strip_suffix('\'').unwrap_or(v));
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.extend(if c == '\\' { chars.next() } else { Some(c) });
    }
    out
}

/// True for a libpq `key=value` connection string.
fn is_key_value(url: &str) -> bool {
    url.split_whitespace().any(|pair| {
        pair.split_once('=').is_some_and(|(key, _)| {
            matches!(
                key,
                "host" | "hostaddr" | "dbname" | "user" | "port" | "password" | "sslmode"
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_timeout_is_added_unless_given() {
        let ten = std::time::Duration::from_secs(10);
        let with = |url: &str| {
            DatabaseUrl::parse(url)
                .expect("a URL")
                .with_connect_timeout(ten)
                .connect_str()
                .to_owned()
        };
        assert_eq!(with("postgres://u@h/db"), "postgres://u@h/db?connect_timeout=10");
        assert_eq!(
            with("postgres://u@h/db?sslmode=require"),
            "postgres://u@h/db?sslmode=require&connect_timeout=10"
        );
        assert_eq!(with("host=h dbname=db"), "host=h dbname=db connect_timeout=10");
        assert_eq!(
            with("postgres://u@h/db?connect_timeout=3"),
            "postgres://u@h/db?connect_timeout=3"
        );
        assert_eq!(with("sqlite://a.db"), "a.db");
        let half = DatabaseUrl::parse("postgres://h/db")
            .expect("a URL")
            .with_connect_timeout(std::time::Duration::from_millis(500));
        assert_eq!(half.connect_str(), "postgres://h/db?connect_timeout=2");
    }

    #[test]
    fn an_application_name_is_added_unless_given() {
        let with = |url: &str| {
            DatabaseUrl::parse(url)
                .expect("a URL")
                .with_application_name("svc 1")
                .connect_str()
                .to_owned()
        };
        assert_eq!(
            with("postgres://u@h/db"),
            "postgres://u@h/db?fallback_application_name=svc%201"
        );
        assert_eq!(
            with("postgres://u:p?w@h/db"),
            "postgres://u:p?w@h/db?fallback_application_name=svc%201"
        );
        assert_eq!(
            with("postgres://u@h/db?fallback_application_name=mine"),
            "postgres://u@h/db?fallback_application_name=mine"
        );
        assert_eq!(
            with("host=h dbname=db"),
            "host=h dbname=db fallback_application_name='svc 1'"
        );
        assert_eq!(with("sqlite://a.db"), "a.db");
    }

    #[test]
    fn classifies_urls() {
        let kind = |u: &str| DatabaseUrl::parse(u).map(|d| (d.kind(), d.connect_str().to_owned()));
        assert_eq!(
            kind("postgres://u@localhost/db").ok(),
            Some((BackendKind::Postgres, "postgres://u@localhost/db".into()))
        );
        assert_eq!(
            kind("sqlite://factory.db").ok(),
            Some((BackendKind::Sqlite, "factory.db".into()))
        );
        assert_eq!(
            kind("sqlite:///tmp/x.db").ok(),
            Some((BackendKind::Sqlite, "/tmp/x.db".into()))
        );
        assert_eq!(
            kind("sqlite::memory:").ok(),
            Some((BackendKind::Sqlite, ":memory:".into()))
        );
        assert_eq!(
            kind("./local.db").ok(),
            Some((BackendKind::Sqlite, "./local.db".into()))
        );
        assert_eq!(
            kind("POSTGRES://u@h/db").ok(),
            Some((BackendKind::Postgres, "postgres://u@h/db".into()))
        );
        assert_eq!(
            kind("host=h dbname=db").ok(),
            Some((BackendKind::Postgres, "host=h dbname=db".into()))
        );
        assert!(kind("").is_err());
        assert!(kind("sqlite://").is_err());
        let err = kind("redis://:secret@host").err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("unknown scheme `redis`"))
        );
        assert!(err.as_deref().is_some_and(|e| !e.contains("secret")));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://app:s3cr3t@db:5432/prod?sslmode=require"),
            "postgres://app:***@db:5432/prod?sslmode=require"
        );
        assert_eq!(redact("postgres://app@db/prod"), "postgres://app@db/prod");
        assert_eq!(
            redact("postgres://db/prod?user=a&password=pw&x=1"),
            "postgres://db/prod?user=a&password=***&x=1"
        );
        assert_eq!(
            redact("host=db user=a password=pw dbname=x"),
            "host=db user=a password=*** dbname=x"
        );
        assert_eq!(redact("postgres://a:p@ss@h/db"), "postgres://a:***@h/db");
        assert_eq!(
            redact("postgres://a:pa?s#s/x@h/db?x=1"),
            "postgres://a:***@h/db?x=1"
        );
        assert_eq!(
            redact("postgres://h/db?email=a@b"),
            "postgres://h/db?email=a@b"
        );
        assert_eq!(
            redact("host=h password = 'a b' dbname=x"),
            "host=h password = *** dbname=x"
        );
        // The cases of issue 11: every occurrence, whatever comes first.
        for (url, redacted) in [
            (
                "postgres://127.0.0.1:5433/passwords?user=app&password=WrongPw123",
                "postgres://127.0.0.1:5433/passwords?user=app&password=***",
            ),
            (
                "postgres://h/db?application_name=password-rotator&password=pw1",
                "postgres://h/db?application_name=password-rotator&password=***",
            ),
            (
                "postgres://h/db?sslpassword=x&password=pw1&PassWord=pw2&pass%77ord=pw3",
                "postgres://h/db?sslpassword=***&password=***&PassWord=***&pass%77ord=***",
            ),
            (
                r"dbname=passwords password='a b\' c' sslpassword=k2 user=u",
                "dbname=passwords password=*** sslpassword=*** user=u",
            ),
            (
                r"host=h password=a\ b dbname=x",
                "host=h password=*** dbname=x",
            ),
            (
                "mysql://root:pw@127.0.0.1:3306/db",
                "mysql://root:***@127.0.0.1:3306/db",
            ),
            (
                "mariadb://root:pw@h/db?password=pw2",
                "mariadb://root:***@h/db?password=***",
            ),
            ("sqlite://a.db?password=pw", "sqlite://a.db?password=***"),
            ("file:a.db?mode=ro&password=pw", "file:a.db?mode=ro&password=***"),
            (
                "could not connect to `postgres://u:pw@h/db`: for \"password=pw2\"",
                "could not connect to `postgres://u:***@h/db`: for \"password=***\"",
            ),
        ] {
            assert_eq!(redact(url), redacted, "{url}");
        }
        // libpq's userinfo ends at the first `@` before any `/`: an `@` in
        // a query value ends none, and its text is no password.
        assert_eq!(
            redact("postgres://a:pw@h/db?email=a@b"),
            "postgres://a:***@h/db?email=a@b"
        );
        assert_eq!(
            redact("postgres://u@h:5432/db?application_name=ci@job"),
            "postgres://u@h:5432/db?application_name=ci@job"
        );
        // A raw `@` in the password (which libpq splits at) is masked whole.
        assert_eq!(
            redact("postgres://a:pw@rd@h/db?email=a@b"),
            "postgres://a:***@h/db?email=a@b"
        );
        // No userinfo before the first `/`: as generous as ever.
        assert_eq!(redact("postgres://a:p/w@h/db"), "postgres://a:***@h/db");
        let url = DatabaseUrl::parse("postgres://a:Hunter2@Secret@h/db").expect("parse");
        assert_eq!(
            url.scrub("could not translate host name \"Secret@h\""),
            "could not translate host name \"***@h\""
        );
    }
}
