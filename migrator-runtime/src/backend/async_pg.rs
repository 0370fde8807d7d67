//! diesel-async's `AsyncConnectionWrapper` around a PostgreSQL connection
//! (`AsyncPgConnection`, or a pooled one from deadpool or bb8): PostgreSQL
//! without libpq, for async services. The wrapper blocks on its runtime for
//! each query, so a run must be called where blocking is allowed (in
//! `tokio::task::spawn_blocking`, or before the runtime starts).

use diesel::pg::Pg;
use diesel::result::QueryResult;
use diesel_async::AsyncConnection;
use diesel_async::async_connection_wrapper::{AsyncConnectionWrapper, BlockOn};

use super::postgres::{Postgres, lock};
use super::{Backend, Dialect, LockHandle, common_backend_methods};
use crate::error::Error;

impl<C, B> Backend for AsyncConnectionWrapper<C, B>
where
    C: AsyncConnection<Backend = Pg> + 'static,
    B: BlockOn + Send + 'static,
{
    fn dialect(&self) -> &'static dyn Dialect {
        &Postgres
    }

    common_backend_methods!(lend itself);

    fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error> {
        lock::try_lock(self, name)
    }

    fn unlock(&mut self, name: &str, _handle: LockHandle) -> QueryResult<()> {
        lock::unlock(self, name)
    }
}
