//! Signed manifests (CONTRACT section 8): Ed25519 keys in PEM, the detached signature of a
//! run's `manifest.json` in `manifest.json.sig` (base64), `permaudit keygen`.
//!
//! The cryptography is `ed25519-dalek`'s; this module only reads and writes keys (PKCS#8
//! PEM for the private key, as `openssl genpkey -algorithm ed25519` writes it, and
//! SubjectPublicKeyInfo PEM for the public key) and says what is wrong with them. The private
//! key's bytes are never logged, printed or written anywhere but by `keygen` to its file.
//!
//! What a signature proves, and what it does not, is in docs/threats.md.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::config::{ConfigError, KeyFile};
use crate::error::{Error, Result};
use crate::fs_guard::{self, Links};

/// The signature's name inside a run directory, beside `manifest.json`.
pub const SIG_FILE: &str = "manifest.json.sig";

/// The largest key or signature file read: a PEM key is a few hundred bytes, so anything
/// bigger is not one (and a device or a huge file is never read whole).
const MAX_FILE: u64 = 64 * 1024;

/// How `keygen` and the errors name the kind of key expected.
const EXPECTED_PRIVATE: &str =
    "an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), \
     as `permaudit keygen` or `openssl genpkey -algorithm ed25519` writes it";
const EXPECTED_PUBLIC: &str = "an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----), as \
     `permaudit keygen` writes it to FILE.pub or `openssl pkey -pubout` prints it";

/// The run configuration's `signing_key`, loaded: signs manifests. Its `Debug` shows the
/// public key only.
pub struct ManifestSigner {
    key: SigningKey,
}

impl fmt::Debug for ManifestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManifestSigner")
            .field("public_key_sha256", &fingerprint(&self.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

impl ManifestSigner {
    /// Reads the key the configuration `config` names. A missing or unreadable file, or one
    /// that is not an Ed25519 private key in PKCS#8 PEM, is a configuration error (exit 2)
    /// naming the configuration's key; a file that its group or others may read is a
    /// warning, and with `strict` the same error.
    pub fn load(key: &KeyFile, config: &Path, strict: bool) -> Result<ManifestSigner> {
        let invalid = |problem: String| ConfigError::Invalid {
            path: config.to_path_buf(),
            entry: None,
            key: Some("signing_key".into()),
            problem: format!("{}: {problem}", key.path.display()),
            location: key.at,
        };
        let (text, mode) = read_small(&key.path).map_err(|e| invalid(describe_read(&e)))?;
        let signing = parse_private(&text).map_err(invalid)?;
        if mode & 0o077 != 0 {
            let problem = format!(
                "the private key may be read by its group or others (mode {:04o}); only the \
                 service user that runs permaudit should: chmod 600 it",
                mode & 0o7777
            );
            if strict {
                return Err(invalid(format!("--strict: {problem}")).into());
            }
            tracing::warn!(config = %config.display(), "key signing_key: {}: {problem}", key.path.display());
        }
        let signer = ManifestSigner { key: signing };
        tracing::info!(
            signing_key = %key.path.display(),
            public_key_sha256 = %signer.public_key_sha256(),
            "manifests are signed"
        );
        Ok(signer)
    }

    /// The detached signature of `manifest` (the file's exact bytes), as the text of
    /// `manifest.json.sig`: base64 of the 64 signature bytes and a line feed.
    pub fn sign(&self, manifest: &[u8]) -> String {
        let sig = self.key.sign(manifest);
        let mut text = base64::engine::general_purpose::STANDARD.encode(sig.to_bytes());
        text.push('\n');
        text
    }

    /// SHA-256 of the public key's DER (SubjectPublicKeyInfo), as `openssl pkey -pubin
    /// -outform DER | sha256sum` prints it.
    pub fn public_key_sha256(&self) -> String {
        fingerprint(&self.key.verifying_key())
    }
}

/// A public key given to `verify --public-key`.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    pub path: PathBuf,
}

impl PublicKey {
    /// Reads an Ed25519 public key in PEM; anything else is bad input (exit 2).
    pub fn load(path: &Path) -> Result<PublicKey> {
        let shown = path.display().to_string();
        let (text, _) = read_small(path).map_err(|e| Error::input(&shown, describe_read(&e)))?;
        let key = parse_public(&text).map_err(|p| Error::input(&shown, p))?;
        Ok(PublicKey {
            key,
            path: path.to_path_buf(),
        })
    }

    /// Whether `sig_text` (the content of `manifest.json.sig`) is this key's signature of
    /// `manifest`; the error says what is wrong.
    pub fn check(&self, manifest: &[u8], sig_text: &[u8]) -> std::result::Result<(), String> {
        let trimmed = sig_text.trim_ascii();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .map_err(|e| format!("not a base64 signature ({e})"))?;
        let sig = Signature::from_slice(&bytes).map_err(|_| {
            format!(
                "{} bytes where an Ed25519 signature has 64 (truncated or not a signature)",
                bytes.len()
            )
        })?;
        self.key.verify_strict(manifest, &sig).map_err(|_| {
            format!(
                "the signature does not verify with the public key {}: the manifest was \
                 changed after it was signed, the signature belongs to another manifest, or \
                 another key signed it",
                self.path.display()
            )
        })
    }
}

fn fingerprint(key: &VerifyingKey) -> String {
    match key.to_public_key_der() {
        Ok(der) => crate::hash::sha256_hex(der.as_bytes()),
        Err(_) => String::new(),
    }
}

/// A small regular file's text and permission bits. Links are followed (a key often lives
/// behind one, e.g. a secrets mount); FIFOs and devices are refused without blocking.
fn read_small(path: &Path) -> io::Result<(String, u32)> {
    let file = fs_guard::open_regular(fs::OpenOptions::new().read(true), path, Links::Follow)?;
    let meta = file.metadata()?;
    if meta.len() > MAX_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} bytes: too large for a key", meta.len()),
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not text: not a PEM file"))?;
    Ok((text, meta.permissions().mode()))
}

fn describe_read(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "does not exist".to_string(),
        _ if fs_guard::is_refusal(e) => e.to_string(),
        _ => format!("cannot be read: {e}"),
    }
}

fn parse_private(text: &str) -> std::result::Result<SigningKey, String> {
    if !text.contains("-----BEGIN ") {
        return Err(format!("not PEM; expected {EXPECTED_PRIVATE}"));
    }
    SigningKey::from_pkcs8_pem(text).map_err(|e| format!("not {EXPECTED_PRIVATE} ({e})"))
}

fn parse_public(text: &str) -> std::result::Result<VerifyingKey, String> {
    if !text.contains("-----BEGIN ") {
        return Err(format!("not PEM; expected {EXPECTED_PUBLIC}"));
    }
    VerifyingKey::from_public_key_pem(text).map_err(|e| format!("not {EXPECTED_PUBLIC} ({e})"))
}

/// What `permaudit keygen` prints.
#[derive(Debug, Clone)]
pub struct KeygenSummary {
    pub private_key: PathBuf,
    pub public_key: PathBuf,
    pub public_key_sha256: String,
}

impl fmt::Display for KeygenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permaudit keygen status=ok private_key={} public_key={} public_key_sha256={}",
            self.private_key.display(),
            self.public_key.display(),
            self.public_key_sha256
        )
    }
}

/// `FILE.pub`, the public key's path beside the private key `FILE`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// `permaudit keygen --out FILE`: a new Ed25519 key from the operating system's generator,
/// the private key to FILE (PKCS#8 PEM, created with mode 0600) and the public key to
/// FILE.pub (SubjectPublicKeyInfo PEM). Refuses (exit 2) when either name holds anything,
/// a link included: a key is never overwritten, nor written through a link.
pub fn keygen(out: &Path) -> Result<KeygenSummary> {
    let public = public_key_path(out);
    for path in [out, public.as_path()] {
        if let Some(t) = fs_guard::type_at(path).map_err(|e| Error::io(path, e))? {
            return Err(Error::input(
                path.display().to_string(),
                format!(
                    "{} is already there; permaudit keygen never replaces a key (move it \
                     away, or choose another --out)",
                    fs_guard::describe(t)
                ),
            ));
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| {
        Error::Internal(format!(
            "the operating system's random generator failed: {e}"
        ))
    })?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    // The private key alone, as openssl writes it (PKCS#8 v1): every tool reads that form.
    let private_pem = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .map_err(|e| Error::Internal(format!("encoding the private key: {e}")))?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Internal(format!("encoding the public key: {e}")))?;

    create_new(out, 0o600, private_pem.as_bytes())?;
    if let Err(e) = create_new(&public, 0o644, public_pem.as_bytes()) {
        // Never one without the other: the private key just written goes too.
        let _ = fs::remove_file(out);
        return Err(e);
    }
    Ok(KeygenSummary {
        private_key: out.to_path_buf(),
        public_key: public,
        public_key_sha256: fingerprint(&key.verifying_key()),
    })
}

/// Creates `path` with `mode` from the start (never a moment with wider permissions), only
/// if nothing is at the name (`O_EXCL`, which also refuses a link, even a dangling one), and
/// writes `bytes` durably.
fn create_new(path: &Path, mode: u32, bytes: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => Error::input(
                path.display().to_string(),
                "appeared while the key was made; permaudit keygen never replaces a key",
            ),
            _ => Error::io(path, e),
        })?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| {
        let _ = fs::remove_file(path);
        Error::io(path, e)
    })
}
