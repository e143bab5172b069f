//! argon2id itself: OWASP's parameters (m = 19 MiB, t = 2, p = 1), hashing into a PHC string and
//! verifying against one, each in memory the calling hashing thread keeps (see the parent module).

use anyhow::anyhow;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{
        phc::{Output, ParamsString, Salt},
        try_generate_salt,
    },
};

pub(super) fn params() -> anyhow::Result<Params> {
    Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow!("argon2 params: {e}"))
}

/// The first `blocks` blocks of a thread's memory, grown (once, and kept) if a stored hash asks
/// for more than it has.
fn memory_for(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    &mut memory[..blocks]
}

/// The PHC string of `password` with a fresh salt, in the same format as the argon2 crate's
/// `hash_password` (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
pub(super) fn hash_into(memory: &mut Vec<Block>, password: &[u8]) -> anyhow::Result<String> {
    let params = params()?;
    let salt = try_generate_salt().map_err(|e| anyhow!("salt: {e}"))?;
    let salt = Salt::new(&salt).map_err(|e| anyhow!("salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let blocks = memory_for(memory, params.block_count());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, blocks)
        .map_err(|e| anyhow!("argon2 hash: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow!("argon2 params: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, recomputed with the stored algorithm,
/// parameters and salt (as the argon2 crate's `verify_password` does) and compared in constant
/// time (`Output`'s equality). A malformed stored hash matches nothing.
pub(super) fn matches(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(stored) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else { return false };
    let Ok(version) = stored.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&stored) else { return false };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else { return false };
    let blocks = memory_for(memory, params.block_count());
    if Argon2::new(algorithm, version, params).hash_password_into_with_memory(password, salt, out, blocks).is_err() {
        return false;
    }
    Output::new(out).is_ok_and(|computed| computed == *expected)
}
