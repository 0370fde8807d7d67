//! Finding statements in an upgrade that lose data.
