//! Password hashes: argon2id PHC strings, made and checked here.
//!
//! Checking costs what the stored hash asks for: argon2 with the default parameters fills
//! 19 MiB of memory. A server that verifies many logins at once would allocate that per
//! login and, with the allocator keeping what was freed, grow without bound; so
//! [`verify_with`] hashes into caller-owned [`HashMemory`] that a server reuses, and a hash
//! asking for more than [`MAX_MEMORY_KIB`] (or absurd time or lanes) is refused at import
//! and never verified.

use std::sync::OnceLock;

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::StoreError;

/// The most memory (KiB) a stored hash may ask for: 64 MiB, three times the default.
pub const MAX_MEMORY_KIB: u32 = 64 * 1024;
/// The most passes a stored hash may ask for.
pub const MAX_PASSES: u32 = 16;
/// The most lanes a stored hash may ask for.
pub const MAX_LANES: u32 = 16;

/// Hashes a password with argon2id and the default parameters, under a fresh salt.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    if password.is_empty() {
        return Err(StoreError::EmptyPassword);
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| StoreError::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))
}

/// A hash nobody's password matches, verified for unknown users so that a login costs the
/// same whether or not the user exists.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("roam: no such user").unwrap_or_default())
}

/// Working memory for argon2, kept between verifications. It grows to the largest hash it
/// has checked (at most [`MAX_MEMORY_KIB`]) and never shrinks.
#[derive(Default)]
pub struct HashMemory {
    blocks: Vec<Block>,
}

impl std::fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashMemory")
            .field("kib", &self.blocks.len())
            .finish()
    }
}

impl HashMemory {
    /// Memory held, in KiB (one argon2 block is 1 KiB).
    pub fn kib(&self) -> usize {
        self.blocks.len()
    }
}

/// What a stored hash is, checked: an argon2id PHC string within the limits above.
pub fn check_stored_hash(hash: &str) -> Result<(), StoreError> {
    let parsed = PasswordHash::new(hash)
        .map_err(|e| StoreError::PasswordHash(format!("not a PHC string: {e}")))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(StoreError::PasswordHash(format!(
            "algorithm {} is not argon2id",
            parsed.algorithm
        )));
    }
    parts(&parsed).map(|_| ())
}

/// The algorithm, version and parameters of a parsed hash, refused beyond the limits.
fn parts(parsed: &PasswordHash<'_>) -> Result<(Algorithm, Version, Params), StoreError> {
    let bad = |e: &dyn std::fmt::Display| StoreError::PasswordHash(e.to_string());
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| bad(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| bad(&e))?
        .unwrap_or_default();
    let params = Params::try_from(parsed).map_err(|e| bad(&e))?;
    if params.m_cost() > MAX_MEMORY_KIB
        || params.t_cost() > MAX_PASSES
        || params.p_cost() > MAX_LANES
    {
        return Err(StoreError::PasswordHash(format!(
            "parameters m={} t={} p={} exceed this server's limits (m<={MAX_MEMORY_KIB}, t<={MAX_PASSES}, p<={MAX_LANES})",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    Ok((algorithm, version, params))
}

/// Whether `password` matches the stored `hash`, hashing into `memory`. A hash that cannot
/// be read or is over the limits is an error, never a match.
pub fn verify_with(
    hash: &str,
    password: &str,
    memory: &mut HashMemory,
) -> Result<bool, StoreError> {
    let parsed = PasswordHash::new(hash)
        .map_err(|e| StoreError::PasswordHash(format!("not a PHC string: {e}")))?;
    let (algorithm, version, params) = parts(&parsed)?;
    let expected = parsed
        .hash
        .ok_or_else(|| StoreError::PasswordHash("the hash has no output".into()))?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| StoreError::PasswordHash("the hash has no salt".into()))?
        .decode_b64(&mut salt_buf)
        .map_err(|e| StoreError::PasswordHash(e.to_string()))?;
    let needed = params.block_count();
    if memory.blocks.len() < needed {
        memory.blocks.resize(needed, Block::default());
    }
    let mut out = [0u8; 64];
    let out = out
        .get_mut(..expected.len())
        .ok_or_else(|| StoreError::PasswordHash("hash output too long".into()))?;
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory.blocks[..])
        .map_err(|e| StoreError::PasswordHash(e.to_string()))?;
    let computed = Output::new(out).map_err(|e| StoreError::PasswordHash(e.to_string()))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn reused_memory_verifies_as_argon2_does() {
        let hash = hash_password("correct horse").expect("hash");
        let mut memory = HashMemory::default();
        assert!(verify_with(&hash, "correct horse", &mut memory).expect("verify"));
        assert_eq!(memory.kib(), Params::DEFAULT_M_COST as usize);
        assert!(!verify_with(&hash, "wrong", &mut memory).expect("verify"));
        let parsed = PasswordHash::new(&hash).expect("parse");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // Smaller parameters reuse the larger memory as it is.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 2, 2, Some(24)).expect("params"),
        )
        .hash_password(b"pw", &SaltString::encode_b64(&[7; 16]).expect("salt"))
        .expect("hash")
        .to_string();
        assert!(verify_with(&small, "pw", &mut memory).expect("verify"));
        assert!(!verify_with(&small, "pW", &mut memory).expect("verify"));
        assert_eq!(memory.kib(), Params::DEFAULT_M_COST as usize);
    }

    #[test]
    fn hashes_beyond_the_limits_are_refused_unverified() {
        let params = Params::new(MAX_MEMORY_KIB + 8, 1, 1, None).expect("params");
        // Written by hand: hashing it here would cost the memory the limit protects.
        let hash = format!(
            "$argon2id$v=19$m={},t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            params.m_cost()
        );
        assert!(check_stored_hash(&hash).is_err());
        let mut memory = HashMemory::default();
        assert!(verify_with(&hash, "x", &mut memory).is_err());
        assert_eq!(memory.kib(), 0, "nothing allocated for a refused hash");
        assert!(check_stored_hash("$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaA").is_err());
        assert!(check_stored_hash(&hash_password("pw").expect("hash")).is_ok());
    }
}
