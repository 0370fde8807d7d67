//! migrator: schema migrations with Alembic's revision graph, checked by the
//! compiler and run over Diesel.
#![warn(missing_docs, clippy::unwrap_used)]

pub mod graph;
pub mod model;
pub mod plan;
