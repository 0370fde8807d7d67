//! The Redis lock: a key set with `SET key value NX PX lease`, whose value
//! is this run's token followed by who it is (host, pid, application, since
//! when), renewed and deleted only while the value is still this run's
//! (compare-and-set scripts).
//!
//! A thread renews the lease every third of its length, on a Redis
//! connection of its own, while the run goes on (see [`super::heartbeat`]).

use std::time::Duration;

use super::heartbeat::{Beat, Heartbeat};
use crate::backend::millis;
use crate::error::{Error, Result};

/// Renews the key's expiry while it holds this run's value.
const RENEW: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
                     return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/// Deletes the key while it holds this run's value.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
                       return redis.call('del', KEYS[1]) else return 0 end";

/// A run that wants, or holds, the lease.
pub(crate) struct Lease {
    client: redis::Client,
    conn: redis::Connection,
    /// The URL, to remove its password from Redis's errors.
    url: String,
    /// The URL without its password, for errors.
    shown: String,
    key: String,
    /// The token, then who this run is.
    value: String,
    lease: Duration,
    renewal: Option<Heartbeat>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("url", &self.shown)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// Connects to Redis at `url` (`shown` is it without its password).
    pub(crate) fn connect(
        url: &str,
        shown: &str,
        identity: &str,
        version_table: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Lease> {
        let fail = |action: &'static str| {
            move |error: redis::RedisError| Error::Lock {
                lock: shown.to_owned(),
                action,
                reason: scrub(url, &error.to_string()),
            }
        };
        let client = redis::Client::open(url).map_err(fail("reading its URL"))?;
        let conn = open(&client, lease).map_err(fail("connecting to Redis"))?;
        Ok(Lease {
            client,
            conn,
            url: url.to_owned(),
            shown: shown.to_owned(),
            key: format!("migrator:lock:{identity}:{version_table}"),
            value: format!(
                "{token} host {}, pid {}, application {}, since {} UTC",
                crate::bookkeeping::host(),
                std::process::id(),
                super::application(),
                chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.3f")
            ),
            lease,
            renewal: None,
        })
    }

    /// Tries once to take the key: `Ok(None)` when taken (and the renewal
    /// thread started), else who holds it.
    pub(crate) fn try_take(&mut self) -> Result<Option<String>> {
        let set: Option<String> = redis::cmd("SET")
            .arg(&self.key)
            .arg(&self.value)
            .arg("NX")
            .arg("PX")
            .arg(millis(self.lease))
            .query(&mut self.conn)
            .map_err(|e| self.error("taking the lease", &e))?;
        if set.is_some() {
            self.renewal = Some(self.start_renewal()?);
            return Ok(None);
        }
        let holder: Option<String> = redis::cmd("GET")
            .arg(&self.key)
            .query(&mut self.conn)
            .map_err(|e| self.error("reading the lease", &e))?;
        Ok(Some(match holder {
            Some(value) => describe(&self.key, &value),
            // Expired between the two commands: the next try takes it.
            None => "nobody any more (the lease just expired)".to_owned(),
        }))
    }

    /// The Redis URL without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// `None` while the lease is this run's, else what happened to it: what
    /// the renewal thread found, or the key's value now (asked, so a lease
    /// taken a moment ago stops the run at once).
    pub(crate) fn lost(&mut self) -> Option<String> {
        let found = self.renewal.as_ref()?.lost();
        if found.is_some() {
            return found;
        }
        match redis::cmd("GET").arg(&self.key).query::<Option<String>>(&mut self.conn) {
            Ok(Some(value)) if value == self.value => None,
            Ok(Some(other)) => Some(format!("taken by {}", describe(&self.key, &other))),
            Ok(None) => Some(format!("the key `{}` expired or was deleted", self.key)),
            // Redis unreachable for now: the renewal thread decides, after
            // a whole lease without an answer.
            Err(error) => {
                tracing::warn!(%error, "could not check the Redis lease");
                None
            }
        }
    }

    /// Stops the renewal and deletes the key if it is still this run's.
    pub(crate) fn release(mut self) -> std::result::Result<(), String> {
        if let Some(renewal) = self.renewal.take() {
            renewal.stop();
        }
        redis::cmd("EVAL")
            .arg(RELEASE)
            .arg(1)
            .arg(&self.key)
            .arg(&self.value)
            .query::<i64>(&mut self.conn)
            .map(drop)
            .map_err(|e| self.error("releasing the lease", &e).to_string())
    }

    fn start_renewal(&self) -> Result<Heartbeat> {
        let mut conn =
            open(&self.client, self.lease).map_err(|e| self.error("connecting to Redis", &e))?;
        let (key, value, lease) = (self.key.clone(), self.value.clone(), self.lease);
        Heartbeat::start("migrator-redis-lease", lease, move || {
            renew(&mut conn, &key, &value, lease)
        })
        .map_err(|e| Error::Lock {
            lock: self.shown.clone(),
            action: "starting the lease's renewal",
            reason: e.to_string(),
        })
    }

    fn error(&self, action: &'static str, error: &redis::RedisError) -> Error {
        Error::Lock {
            lock: self.shown.clone(),
            action,
            reason: scrub(&self.url, &error.to_string()),
        }
    }
}

/// One renewal: extends the key while it is this run's.
fn renew(conn: &mut redis::Connection, key: &str, value: &str, lease: Duration) -> Beat {
    let renewed = redis::cmd("EVAL")
        .arg(RENEW)
        .arg(1)
        .arg(key)
        .arg(value)
        .arg(millis(lease))
        .query::<i64>(conn);
    match renewed {
        Ok(1) => Beat::Renewed,
        Ok(_) => {
            let now: Option<String> = redis::cmd("GET").arg(key).query(conn).ok().flatten();
            Beat::Lost(match now {
                Some(other) => format!("taken by {}", describe(key, &other)),
                None => format!("the key `{key}` expired or was deleted"),
            })
        }
        Err(error) => Beat::Failed(format!("Redis did not answer: {error}")),
    }
}

/// A connection whose commands give up after a third of the lease (at
/// least a second), so the renewal notices a silent server in time.
fn open(client: &redis::Client, lease: Duration) -> redis::RedisResult<redis::Connection> {
    let limit = (lease / 3).max(Duration::from_secs(1));
    let conn = client.get_connection_with_timeout(limit)?;
    conn.set_read_timeout(Some(limit))?;
    conn.set_write_timeout(Some(limit))?;
    Ok(conn)
}

/// Who a key's value says holds it.
fn describe(key: &str, value: &str) -> String {
    match value.split_once(' ') {
        Some((token, who)) => format!("token {token}, {who} (Redis key `{key}`)"),
        None => format!("token {value} (Redis key `{key}`)"),
    }
}

/// `text` with the URL's password, if any, replaced by `***`.
fn scrub(url: &str, text: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    match password {
        Some(password) => text.replace(password, "***"),
        None => text.to_owned(),
    }
}
