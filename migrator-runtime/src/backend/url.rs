//! Database URLs: which backend they name, and how to print them without
//! their password.

use crate::error::Error;
use crate::model::BackendKind;

/// A database URL, classified by backend.
///
/// | URL | backend |
/// | --- | --- |
/// | `postgres://user:pw@host:5432/db`, `postgresql://…` | PostgreSQL |
/// | `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, `sqlite::memory:` | SQLite |
/// | `mysql://…`, `mariadb://…` | MySQL (not yet supported for connections) |
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
                        "unknown scheme `{other}`; use postgres://, sqlite:// or a file path"
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
    pub fn with_connect_timeout(mut self, timeout: std::time::Duration) -> DatabaseUrl {
        if self.kind == BackendKind::Postgres && !self.connect.contains("connect_timeout=") {
            let seconds = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(2);
            let separator = if is_key_value(&self.connect) {
                " "
            } else if self.connect.contains('?') {
                "&"
            } else {
                "?"
            };
            self.connect = format!("{}{separator}connect_timeout={seconds}", self.connect);
        }
        self
    }

    /// The URL with its password replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        redact(&self.original)
    }

    /// `text` (a driver's message about this URL) with every piece of the
    /// URL's password replaced by `***`. libpq splits a URL whose password
    /// holds an unescaped `@` at the first `@`, and may quote the rest as a
    /// host name.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = redact(text);
        if let Some(password) = password(&self.original) {
            let mut pieces: Vec<&str> = password.split('@').filter(|p| p.len() >= 2).collect();
            pieces.push(password);
            pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
            for piece in pieces {
                text = text.replace(piece, "***");
            }
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

/// The password of `scheme://user:password@host…` or of a `password=`
/// parameter, if any.
fn password(url: &str) -> Option<&str> {
    match url
        .split_once("://")
        .and_then(|(_, rest)| split_userinfo(rest))
    {
        Some((_, password, _)) => Some(password),
        None => key_value_password(url).map(|range| &url[range]),
    }
}

/// `user:password@host/db` → (`user`, `password`, `host/db`). The userinfo
/// ends at the last `@`: a password may hold `/`, `?`, `#` and `@`, a host
/// holds none of them.
fn split_userinfo(rest: &str) -> Option<(&str, &str, &str)> {
    let (userinfo, host) = rest.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    // A `/` before the `:` means the `@` was in the path, not a userinfo.
    (!user.contains('/')).then_some((user, password, host))
}

/// Where the value of a `password=` parameter (`password = 'a b'`,
/// `password=pw&…`) is, in a query string or a libpq `key=value` string.
fn key_value_password(url: &str) -> Option<std::ops::Range<usize>> {
    let lower = url.to_ascii_lowercase();
    let key = lower.find("password")? + "password".len();
    let after_key = &url[key..];
    let equals = after_key.find(|c: char| !c.is_whitespace())?;
    if !after_key[equals..].starts_with('=') {
        return None;
    }
    let value_start = key + equals + 1;
    let value = &url[value_start..];
    let skipped = value.len() - value.trim_start().len();
    let start = value_start + skipped;
    let value = &url[start..];
    let len = if let Some(quoted) = value.strip_prefix('\'') {
        quoted.find('\'').map_or(value.len(), |end| end + 2)
    } else {
        value.find(['&', ' ', ';']).unwrap_or(value.len())
    };
    Some(start..start + len)
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

/// Replaces the password of a URL (`scheme://user:password@host`) and any
/// `password=…` parameter with `***`. Text without a password is returned
/// unchanged.
pub fn redact(url: &str) -> String {
    let mut out = match url.split_once("://") {
        Some((scheme, rest)) => match split_userinfo(rest) {
            Some((user, _password, host)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    // Query parameters and key=value connection strings.
    if let Some(range) = key_value_password(&out) {
        out.replace_range(range, "***");
    }
    out
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
        let url = DatabaseUrl::parse("postgres://a:Hunter2@Secret@h/db").expect("parse");
        assert_eq!(
            url.scrub("could not translate host name \"Secret@h\""),
            "could not translate host name \"***@h\""
        );
    }
}
