//! Generated database URLs and `key=value` connection strings that hold
//! passwords, for the property tests that no output shows a password
//! (`tests/secrets.rs`, and the factory binary's `tests/secrets.rs`).
//!
//! A generated string mixes every shape that defeated the first redaction:
//! a userinfo password (percent-encoded, or raw with `@`), `password` and
//! `sslpassword` parameters in any case and with percent-encoded names,
//! repeated, in any order, after parameters, values and database names that
//! contain the word `password`; `key=value` values quoted with `\'` and
//! `\\` escapes. Passwords hold characters that need percent-encoding or
//! quoting.

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use proptest::prelude::*;
use proptest::sample::select;

/// A connection string and the passwords it holds.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// The URL or `key=value` string.
    pub url: String,
    /// The passwords, as the user meant them (before any encoding).
    pub passwords: Vec<String>,
}

impl Secrets {
    /// What no output may hold: each password as meant, percent-encoded,
    /// percent-decoded and escaped as in a `key=value` string, and each run
    /// of six or more letters and digits in it (a driver may quote a piece
    /// of a password it split).
    pub fn forbidden(&self) -> Vec<String> {
        let mut out = Vec::new();
        for password in &self.passwords {
            out.push(password.clone());
            out.push(encode(password));
            out.push(
                percent_decode_str(password)
                    .decode_utf8_lossy()
                    .into_owned(),
            );
            out.push(escape(password));
            out.extend(
                password
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|run| run.len() >= 6)
                    .map(str::to_owned),
            );
        }
        out.retain(|text| text.len() >= 6);
        out.sort();
        out.dedup();
        out
    }

    /// Panics, naming `what` and the piece, if `output` holds anything
    /// [`forbidden`](Secrets::forbidden).
    pub fn assert_hidden(&self, output: &str, what: &str) {
        for piece in self.forbidden() {
            assert!(
                !output.contains(&piece),
                "{what}: the output holds {piece:?}, from a password of {:?}\n{output}",
                self.url
            );
        }
    }
}

/// `text` with every byte but letters and digits percent-encoded.
fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// `text` with `\` and `'` escaped, as inside a quoted `key=value` value.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

/// A password: 8 to 16 characters, among them letters and digits and the
/// characters URLs and `key=value` strings give a meaning to.
pub fn password() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 @:/?#&=%'\"\\\\;,+$!~*-]{8,16}".prop_filter(
        "at least six letters or digits, so that it cannot appear by chance",
        |p| p.chars().filter(char::is_ascii_alphanumeric).count() >= 6,
    )
}

/// A password that a URL may hold raw in its userinfo (`@` included:
/// libpq splits it there).
fn raw_userinfo_password() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{3,6}@[A-Za-z0-9!~*$]{6,10}"
}

/// Parameters and database names that hold the word `password` but no
/// password.
const DECOYS: [&str; 6] = [
    "application_name=password-rotator",
    "application_name=password",
    "user=app",
    "sslmode=disable",
    "options=-csearch_path%3Dpasswords",
    "target_session_attrs=any",
];

/// The names of password parameters, in the forms a URL may spell them.
const SECRET_KEYS: [&str; 7] = [
    "password",
    "sslpassword",
    "PASSWORD",
    "Password",
    "pass%77ord",
    "%70assword",
    "SSLPassword",
];

/// Database names that contain the word `password` (none exists).
const DATABASES: [&str; 4] = ["passwords", "password", "db_password_1", "no_such_database"];

/// One query parameter: a password (`Some`) or a decoy.
fn parameter() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        (select(&SECRET_KEYS[..]), password())
            .prop_map(|(key, password)| (format!("{key}={}", encode(&password)), Some(password))),
        select(&DECOYS[..]).prop_map(|decoy| (decoy.to_owned(), None)),
    ]
}

/// URLs of one of `schemes` to `authority` (`host:port`): a userinfo with a
/// password or not, a database named after passwords, and up to six
/// parameters in any order, passwords and decoys, repeated.
pub fn url(schemes: &'static [&'static str], authority: String) -> impl Strategy<Value = Secrets> {
    let userinfo = prop_oneof![
        Just((String::new(), None)),
        Just(("app@".to_owned(), None)),
        password().prop_map(|p| (format!("postgres:{}@", encode(&p)), Some(p))),
        raw_userinfo_password().prop_map(|p| (format!("postgres:{p}@"), Some(p))),
    ];
    (
        select(schemes),
        userinfo,
        select(&DATABASES[..]),
        proptest::collection::vec(parameter(), 0..6),
    )
        .prop_map(
            move |(scheme, (userinfo, user_password), database, params)| {
                let query: Vec<&str> = params.iter().map(|(text, _)| text.as_str()).collect();
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", query.join("&"))
                };
                Secrets {
                    url: format!("{scheme}://{userinfo}{authority}/{database}{query}"),
                    passwords: user_password
                        .into_iter()
                        .chain(params.into_iter().filter_map(|(_, password)| password))
                        .collect(),
                }
            },
        )
}

/// libpq `key=value` strings to `authority` (`host:port`): a database named
/// after passwords, decoys, and one to three `password`/`sslpassword` values,
/// quoted (with escapes) when they must be or at random, `=` with or
/// without spaces around it, in any order.
pub fn key_value(authority: &str) -> impl Strategy<Value = Secrets> {
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "5432"));
    let (host, port) = (host.to_owned(), port.to_owned());
    let secret = (
        select(&["password", "sslpassword"][..]),
        password(),
        any::<bool>(),
        select(&["=", " = ", "= "][..]),
    )
        .prop_map(|(key, password, quote, equals)| {
            let needs_quotes = password.contains([' ', '\'', '\\']);
            let value = if quote || needs_quotes {
                format!("'{}'", escape(&password))
            } else {
                password.clone()
            };
            (format!("{key}{equals}{value}"), Some(password))
        });
    let decoy = select(
        &[
            "application_name='password rotator'",
            "user=app",
            "sslmode=disable",
            "dbname=passwords",
            "dbname = 'password'",
        ][..],
    )
    .prop_map(|decoy| (decoy.to_owned(), None));
    (
        select(&DATABASES[..]),
        proptest::collection::vec(secret, 1..4),
        proptest::collection::vec(decoy, 0..4),
    )
        .prop_flat_map(move |(database, secrets, decoys)| {
            let mut pairs = vec![
                (format!("host={host}"), None),
                (format!("port={port}"), None),
                (format!("dbname={database}"), None),
            ];
            pairs.extend(secrets);
            pairs.extend(decoys);
            Just(pairs).prop_shuffle()
        })
        .prop_map(|pairs| Secrets {
            url: pairs
                .iter()
                .map(|(text, _)| text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            passwords: pairs
                .into_iter()
                .filter_map(|(_, password)| password)
                .collect(),
        })
}

/// The `host:port` of the PostgreSQL server at
/// [`postgres_admin_url`](crate::postgres_admin_url), for connections that
/// reach it and fail (a database that does not exist).
pub fn postgres_authority() -> String {
    let url = crate::postgres_admin_url();
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() {
        "127.0.0.1:5432".to_owned()
    } else {
        host.to_owned()
    }
}
