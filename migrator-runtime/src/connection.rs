//! The connections a [`Migrator`](crate::Migrator) runs on: the service's
//! own, whatever Diesel gave it.

use crate::backend::Backend;

/// A Diesel connection that migrator can run on. Implemented for:
///
/// | connection | feature |
/// | --- | --- |
/// | `diesel::PgConnection` | `postgres` |
/// | `diesel::SqliteConnection` | `sqlite` |
/// | `AnyConnection` | `postgres` or `sqlite` |
/// | `diesel_async::async_connection_wrapper::AsyncConnectionWrapper<C>` over a PostgreSQL `C` (`AsyncPgConnection`, or a deadpool/bb8 pooled one) | `diesel-async` |
/// | `diesel::r2d2::PooledConnection<ConnectionManager<C>>` of any of these | `r2d2` |
///
/// The trait is sealed: what the executor asks of a connection is internal
/// and grows with the backends. Any other pool's connection that
/// dereferences to one of these works through `&mut *conn`.
///
/// A pool whose connections borrow the pool (bb8's `get()`) hands them over
/// through `get_owned()`: the connection must be `'static`.
///
/// A run holds the connection for its whole length, and every call blocks
/// (on `AsyncConnectionWrapper`, it blocks on its runtime): from async code,
/// call it in `tokio::task::spawn_blocking`.
pub trait MigrationConnection {
    /// The connection as the executor sees it.
    #[doc(hidden)]
    fn __backend(&mut self) -> &mut dyn Backend;
}

impl<T: Backend> MigrationConnection for T {
    fn __backend(&mut self) -> &mut dyn Backend {
        self
    }
}

#[cfg(feature = "r2d2")]
impl<C> MigrationConnection for diesel::r2d2::PooledConnection<diesel::r2d2::ConnectionManager<C>>
where
    C: diesel::r2d2::R2D2Connection + Backend,
{
    fn __backend(&mut self) -> &mut dyn Backend {
        &mut **self
    }
}
