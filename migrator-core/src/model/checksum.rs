//! The checksum recorded for each applied revision, and the normalisation
//! applied to a file before anything is parsed or hashed.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// Line endings CRLF (and lone CR) become LF and a leading byte-order mark is
/// dropped, so that a checkout on any platform parses and hashes the same.
pub fn normalise(contents: &str) -> Cow<'_, str> {
    let text = contents.strip_prefix('\u{feff}').unwrap_or(contents);
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// SHA-256 of the normalised file contents, as 64 lowercase hex digits.
pub fn checksum(normalised: &str) -> String {
    format!("{:x}", Sha256::digest(normalised.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::normalise;

    #[test]
    fn is_sha256_in_lowercase_hex() {
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            checksum("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn crlf_and_lf_files_have_the_same_checksum() {
        let lf = "-- Revision ID: 001\n-- Revises:\nSELECT 1;\n";
        let crlf = "\u{feff}-- Revision ID: 001\r\n-- Revises:\r\nSELECT 1;\r\n";
        assert_eq!(checksum(&normalise(lf)), checksum(&normalise(crlf)));
    }
}
