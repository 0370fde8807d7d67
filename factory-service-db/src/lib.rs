//! The factory service database.
