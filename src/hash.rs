//! SHA-256 helpers (lowercase hex), used for evidence hashes and the manifest chain, and the
//! combined hash of a group of files, and the keyed hash (HMAC-SHA-256) behind pseudonyms.

use hmac::{Hmac, Mac};
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

/// A secret HMAC key. Its bytes never leave this type: no `Debug`, `Display` or
/// serialisation shows them, so a key cannot reach a log line or an output by accident.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Shortest key accepted: as long as the hash, so the key is not the weak link.
    pub const MIN_LEN: usize = 32;

    /// The key, or its length when it is shorter than [`Self::MIN_LEN`].
    pub fn new(bytes: Vec<u8>) -> Result<SecretKey, usize> {
        if bytes.len() < Self::MIN_LEN {
            return Err(bytes.len());
        }
        Ok(SecretKey(bytes))
    }

    /// HMAC-SHA-256 of `data`, lowercase hex.
    pub fn hmac_sha256_hex(&self, data: &[u8]) -> String {
        // HMAC takes keys of any length; new_from_slice cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(<{} bytes, not shown>)", self.0.len())
    }
}
