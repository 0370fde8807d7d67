//! The heartbeat of a lease (the `table` lock's row, the Redis key): a
//! thread that renews it every third of its length, on a connection of its
//! own, while the run goes on. Renewal between revisions alone would lose
//! the lease during any revision longer than it (a `Transaction: false`
//! one, or any on MySQL, whose DDL ends the revision's transaction and with
//! it the row lock that kept the lease); the thread keeps it as long as the
//! process lives, and a process that died stops renewing, so its lease
//! expires. What the thread learns (the lease taken by another run or gone,
//! or no renewal confirmed for a whole lease) stops the run before its next
//! revision.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What one renewal found.
pub(crate) enum Beat {
    /// The lease is this run's, renewed (or its row locked past the lock
    /// timeout, counted as renewed). The latter assumes the lock is this
    /// run's own open transaction, which renewed the lease first and keeps
    /// every other run out just as well; a row locked longer than the lease
    /// by anything else (a session that locked it by hand, another tool) is
    /// not reported lost by the heartbeat: the run finds it at the renewal
    /// before its next revision instead.
    Renewed,
    /// The lease is another run's, or gone: what happened to it.
    Lost(String),
    /// No answer (the server unreachable for now): retried, and a loss
    /// once nothing was confirmed for a whole lease.
    Failed(String),
}

/// The running heartbeat; [`Heartbeat::stop`] ends it.
pub(crate) struct Heartbeat {
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heartbeat")
            .field("lost", &self.lost())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Shared {
    /// `Some(what happened)` once the lease is lost.
    lost: Mutex<Option<String>>,
    /// Set to stop the thread.
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Heartbeat {
    /// Starts the thread `name`, calling `renew` every third of `lease`
    /// until stopped or until the lease is lost.
    pub(crate) fn start(
        name: &str,
        lease: Duration,
        renew: impl FnMut() -> Beat + Send + 'static,
    ) -> std::io::Result<Heartbeat> {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || beat_until_stopped(lease, renew, &thread_shared))?;
        Ok(Heartbeat { shared, thread })
    }

    /// What happened to the lease, once it is lost.
    pub(crate) fn lost(&self) -> Option<String> {
        self.shared
            .lost
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the thread and waits for it (at most one renewal long).
    pub(crate) fn stop(self) {
        *self.shared.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.shared.wake.notify_all();
        let _ = self.thread.join();
    }
}

fn beat_until_stopped(lease: Duration, mut renew: impl FnMut() -> Beat, shared: &Shared) {
    let mut confirmed = Instant::now();
    loop {
        {
            let stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
            let (stop, _) = shared
                .wake
                .wait_timeout_while(stop, lease / 3, |stop| !*stop)
                .unwrap_or_else(PoisonError::into_inner);
            if *stop {
                return;
            }
        }
        let lost = match renew() {
            Beat::Renewed => {
                confirmed = Instant::now();
                continue;
            }
            Beat::Lost(what) => what,
            Beat::Failed(error) if confirmed.elapsed() >= lease => {
                format!("no renewal of the lease was confirmed for {lease:?}: {error}")
            }
            Beat::Failed(error) => {
                tracing::warn!(%error, "could not renew the lease; retrying");
                continue;
            }
        };
        tracing::error!(lost = %lost, "the lease was lost");
        *shared.lost.lock().unwrap_or_else(PoisonError::into_inner) = Some(lost);
        return;
    }
}
