//! SHA-256 helpers (lowercase hex), used for evidence hashes and the manifest chain, and the
//! combined hash of a group of files.

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The combined SHA-256 of a group of files (the report's evidence summary, one per input
/// table): the SHA-256 of their SHA-256 hashes in lowercase hex, sorted in byte order, each
/// followed by a line feed (duplicates kept). The same as
/// `sha256sum FILES | cut -c1-64 | LC_ALL=C sort | sha256sum` (docs/outputs.md).
pub fn combined_sha256<'a>(hashes: impl IntoIterator<Item = &'a str>) -> String {
    let mut hashes: Vec<String> = hashes.into_iter().map(str::to_ascii_lowercase).collect();
    hashes.sort_unstable();
    let mut text = String::with_capacity(hashes.len() * 65);
    for h in hashes {
        text.push_str(&h);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}
