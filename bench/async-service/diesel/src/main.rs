//! Service (B): migrates with diesel_migrations on a pooled diesel-async
//! connection at startup (the way diesel-async documents it), then serves
//! `GET /health` on `PORT`. See scripts/bench-async-service.sh.

use std::error::Error;

use axum::{Router, extract::State, http::StatusCode, routing::get};
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = std::env::var("DATABASE_URL")?;
    let port: u16 = std::env::var("PORT")?.parse()?;

    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    let pool: Pool<AsyncPgConnection> = Pool::builder(manager).build()?;

    // Migrate on a connection from the pool, wrapped so that the blocking
    // harness can use it, in a thread where blocking is allowed.
    let conn = pool.get().await?;
    let mut conn = AsyncConnectionWrapper::<_>::from(conn);
    tokio::task::spawn_blocking(move || {
        conn.run_pending_migrations(MIGRATIONS).map(|_| ())
    })
    .await??;

    let app = Router::new().route("/health", get(health)).with_state(pool);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn health(State(pool): State<Pool<AsyncPgConnection>>) -> StatusCode {
    let Ok(mut conn) = pool.get().await else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    match diesel::sql_query("SELECT 1").execute(&mut conn).await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
