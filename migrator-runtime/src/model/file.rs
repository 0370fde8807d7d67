//! Parsing one revision file: the header, then SQL sections or a Rust module.

use super::{Diagnostics, Parsed};

/// Parses one revision file. `file_name` is the bare name
/// (`001_add_api_keys.sql`), `path` how messages name it
/// (`migrations/001_add_api_keys.sql`), `contents` the raw text (normalised
/// here). Returns `None` when the file is too broken to yield a revision; every
/// problem is in `diagnostics` either way.
pub fn parse_file(
    file_name: &str,
    path: &str,
    contents: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Parsed> {
    let _ = (file_name, path, contents, diagnostics);
    todo!("helper A")
}
