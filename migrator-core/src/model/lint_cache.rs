//! A cache of the online-safety lint's findings per section text, so that a
//! rebuild lints only the sections that changed.
//!
//! The macro runs unoptimised, like every proc-macro in a dev build, and
//! squawk's parser is then about ten times slower than the rest of the
//! checks together (docs/BENCHMARKS.md). Findings depend only on the
//! section's text, on whether the revision runs in a transaction, and on
//! the linter (its version, the rules that are on, the PostgreSQL version
//! assumed): those are the key, a SHA-256. `Allow:` and line numbers are
//! applied after, so editing a header or moving a section hits the cache.
//!
//! The file (`embed_migrations!` keeps it in the crate's `OUT_DIR`, which a
//! build script gives it) holds the keys of the last load only. Anything it
//! cannot read is a miss; failing to write it is not an error.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// One finding, before `Allow:` and line numbers: the rule's name, the byte
/// offset in the section, squawk's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub rule: String,
    pub offset: usize,
    pub message: String,
}

/// The findings of the last load (read from the file) and of this one.
#[derive(Debug, Default)]
pub(super) struct Cache {
    path: Option<PathBuf>,
    old: HashMap<String, Vec<Found>>,
    new: HashMap<String, Vec<Found>>,
    missed: bool,
}

impl Cache {
    /// The cache kept at `path`; with `None`, one that keeps nothing.
    pub fn open(path: Option<&Path>) -> Cache {
        let old = path
            .and_then(|p| fs::read_to_string(p).ok())
            .map(|text| read(&text))
            .unwrap_or_default();
        Cache {
            path: path.map(Path::to_path_buf),
            old,
            ..Cache::default()
        }
    }

    /// The findings for `key` (see [`key`]), computed by `lint` on a miss.
    #[cfg_attr(
        not(feature = "lint"),
        allow(dead_code, reason = "the online-safety rules, feature `lint`")
    )]
    pub fn get_or(&mut self, key: String, lint: impl FnOnce() -> Vec<Found>) -> Vec<Found> {
        let found = match self.old.get(&key) {
            Some(found) => found.clone(),
            None => {
                self.missed = true;
                lint()
            }
        };
        self.new.insert(key, found.clone());
        found
    }

    /// Writes the findings of this load, when any was computed or the file
    /// holds keys this load did not use (written whole, then renamed).
    pub fn save(self) {
        let Some(path) = self.path else {
            return;
        };
        if !self.missed && self.old.len() == self.new.len() {
            return;
        }
        let mut keys: Vec<&String> = self.new.keys().collect();
        keys.sort();
        let mut text = String::new();
        for key in keys {
            text.push_str(&format!("K {key}\n"));
            for found in &self.new[key] {
                let message = found.message.replace(['\n', '\t'], " ");
                text.push_str(&format!("F {}\t{}\t{message}\n", found.rule, found.offset));
            }
        }
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        if fs::write(&temporary, text).is_ok() && fs::rename(&temporary, &path).is_err() {
            let _ = fs::remove_file(&temporary);
        }
    }
}

/// The key of a section's findings: `linter` names the linter and its
/// settings, `transactional` whether the revision runs in a transaction.
#[cfg_attr(
    not(feature = "lint"),
    allow(dead_code, reason = "the online-safety rules, feature `lint`")
)]
pub(super) fn key(linter: &str, transactional: bool, sql: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(linter.as_bytes());
    hash.update([0, u8::from(transactional), 0]);
    hash.update(sql.as_bytes());
    format!("{:x}", hash.finalize())
}

fn read(text: &str) -> HashMap<String, Vec<Found>> {
    let mut map: HashMap<String, Vec<Found>> = HashMap::new();
    let mut current: Option<&mut Vec<Found>> = None;
    for line in text.lines() {
        if let Some(key) = line.strip_prefix("K ") {
            current = Some(map.entry(key.to_owned()).or_default());
        } else if let Some(found) = line.strip_prefix("F ") {
            let mut parts = found.splitn(3, '\t');
            let (Some(rule), Some(offset), Some(message), Some(list)) = (
                parts.next(),
                parts.next().and_then(|o| o.parse().ok()),
                parts.next(),
                current.as_deref_mut(),
            ) else {
                // Not a file this code wrote: everything is a miss.
                return HashMap::new();
            };
            list.push(Found {
                rule: rule.to_owned(),
                offset,
                message: message.to_owned(),
            });
        } else {
            return HashMap::new();
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_counts_misses() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("lint.cache");
        let found = vec![Found {
            rule: "renaming-column".into(),
            offset: 7,
            message: "Renaming\ta column".into(),
        }];
        let a = key("v1", true, "ALTER TABLE t RENAME a TO b;");
        let b = key("v1", false, "ALTER TABLE t RENAME a TO b;");
        assert_ne!(a, b);
        let mut cache = Cache::open(Some(&path));
        assert_eq!(cache.get_or(a.clone(), || found.clone()), found);
        assert!(cache.get_or(b.clone(), Vec::new).is_empty());
        cache.save();

        let mut cache = Cache::open(Some(&path));
        let mut ran = false;
        let again = cache.get_or(a.clone(), || {
            ran = true;
            Vec::new()
        });
        assert!(!ran);
        assert_eq!(again[0].message, "Renaming a column");
        cache.save();
        // Only the keys of the last load are kept.
        let text = fs::read_to_string(&path).expect("cache");
        assert!(text.contains(&a) && !text.contains(&b), "{text}");

        fs::write(&path, "garbage").expect("fixture");
        assert!(Cache::open(Some(&path)).old.is_empty());
    }
}
