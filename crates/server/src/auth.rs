//! API tokens: a TOML file of `[[token]]` entries (name, role, department, SHA-256 hash of the
//! token). Only hashes are kept; a presented token is hashed and compared with every entry in
//! constant time, so neither the file nor the timing gives a token away. Tokens are never
//! logged: the log and the audit name the token's `name`.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;

/// What a token may do, in increasing order of rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the city and the live twin.
    Viewer,
    /// Also writes sensor readings.
    Operator,
    /// Reads; will run scenario jobs (not built yet).
    Planner,
    /// Everything, including the audit log.
    Admin,
}

impl Role {
    /// The role's name as in the token file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Planner => "planner",
            Role::Admin => "admin",
        }
    }
}

/// Who a request comes from (a token's entry, never the token).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its department (Sở).
    pub department: String,
    /// Its own rate limit, if the token file gives one.
    pub rate: Option<crate::ratelimit::Rate>,
}

struct Entry {
    caller: Caller,
    hash: [u8; 32],
}

/// The known tokens.
#[derive(Default)]
pub struct Tokens {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    token: Vec<FileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    name: String,
    role: Role,
    #[serde(default)]
    department: String,
    hash: String,
    /// Requests per second (default: the server's `--rate-limit`).
    rate_per_s: Option<f64>,
    /// Requests at once (default: twice `rate_per_s`).
    burst: Option<f64>,
}

/// The SHA-256 of a token, as 64 lowercase hex digits (what the token file holds).
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Tokens {
    /// Reads a token file.
    pub fn read(path: &Path) -> Result<Tokens> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the token file", path.display()))?;
        Tokens::parse(&text).with_context(|| format!("{}", path.display()))
    }

    /// Parses a token file's text.
    pub fn parse(text: &str) -> Result<Tokens> {
        let f: File = toml::from_str(text).context("not a token file")?;
        let mut entries: Vec<Entry> = Vec::new();
        for (i, e) in f.token.into_iter().enumerate() {
            let n = i + 1;
            if e.name.trim().is_empty() {
                bail!("token {n}: empty 'name' / tên trống");
            }
            let Some(hash) = parse_hex(&e.hash.to_ascii_lowercase()) else {
                bail!(
                    "token {n} ('{}'): 'hash' must be 64 hex digits (twin serve hash-token TOKEN) / 'hash' phải là 64 chữ số hex",
                    e.name
                );
            };
            if entries.iter().any(|x| x.caller.name == e.name) {
                bail!("token {n}: name '{}' used twice / tên trùng", e.name);
            }
            if entries.iter().any(|x| x.hash == hash) {
                bail!(
                    "token {n} ('{}'): same token as another entry / trùng token",
                    e.name
                );
            }
            let rate = match (e.rate_per_s, e.burst) {
                (None, None) => None,
                (r, b) => {
                    let per_s = r.unwrap_or(crate::ratelimit::Rate::default().per_s);
                    let burst = b.unwrap_or(2.0 * per_s);
                    if !(per_s.is_finite() && per_s > 0.0 && burst.is_finite() && burst >= 1.0) {
                        bail!(
                            "token {n} ('{}'): 'rate_per_s' must be above 0 and 'burst' at least 1 / 'rate_per_s' phải lớn hơn 0 và 'burst' ít nhất 1",
                            e.name
                        );
                    }
                    Some(crate::ratelimit::Rate { per_s, burst })
                }
            };
            entries.push(Entry {
                caller: Caller {
                    name: e.name,
                    role: e.role,
                    department: e.department,
                    rate,
                },
                hash,
            });
        }
        Ok(Tokens { entries })
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is known (then every guarded route answers 401).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller a presented token belongs to. Every entry is compared, in constant time.
    pub fn find(&self, presented: &str) -> Option<&Caller> {
        let h: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for e in &self.entries {
            if bool::from(e.hash.ct_eq(&h)) {
                found = Some(&e.caller);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_finds_tokens() {
        let text = format!(
            "[[token]]\nname = \"ops\"\nrole = \"operator\"\ndepartment = \"SXD\"\nhash = \"{}\"\n",
            hash_token("s3cret")
        );
        let t = Tokens::parse(&text).unwrap();
        assert_eq!(t.find("s3cret").unwrap().name, "ops");
        assert_eq!(t.find("s3cret").unwrap().role, Role::Operator);
        assert!(t.find("s3cre").is_none());
        assert_eq!(hash_token("abc").len(), 64);
    }

    #[test]
    fn refuses_bad_token_files() {
        let e = Tokens::parse("[[token]]\nname=\"a\"\nrole=\"viewer\"\nhash=\"xyz\"\n")
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("64 hex"), "{e:#}");
        let e = Tokens::parse("[[token]]\nname=\"a\"\nrole=\"boss\"\nhash=\"00\"\n")
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("role") || format!("{e:#}").contains("boss"));
    }
}
