//! argon2id password hashing; Django's hashes verified for accounts
//! brought over from it.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{self, Output, ParamsString, Salt, SaltString, rand_core::OsRng},
};
use taskforce_domain::{HashError, PasswordHasher};

use crate::{django, workers::HashWorkers};

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP_MINIMUM: HashCost = HashCost { memory_kib: 19_456, iterations: 2, parallelism: 1 };
}

/// Hashes with argon2id and verifies any argon2 PHC string (so hashes made
/// with other parameters keep working) and Django's `pbkdf2_sha256` and
/// `argon2` hashes; every hash but one of its own kind and cost needs a
/// rehash.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    /// How this hasher's own hashes begin: algorithm, version and costs.
    current: String,
    /// The threads hashes are computed on, shared by the hasher's clones:
    /// one per core, at most four.
    workers: Arc<HashWorkers>,
}

impl Argon2Hasher {
    /// A hasher with the given cost; costs below [`HashCost::OWASP_MINIMUM`]
    /// are raised to it.
    pub fn new(cost: HashCost) -> Result<Self, HashError> {
        let floor = HashCost::OWASP_MINIMUM;
        let params = Params::new(
            cost.memory_kib.max(floor.memory_kib),
            cost.iterations.max(floor.iterations),
            cost.parallelism.max(floor.parallelism),
            None,
        )
        .map_err(|e| HashError(e.to_string()))?;
        let current = format!("$argon2id$v=19$m={},t={},p={}$", params.m_cost(), params.t_cost(), params.p_cost());
        // one thread per core, at most four: each running hash holds its memory
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(4);
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        Ok(Self { argon2, current, workers: Arc::new(HashWorkers::start(cores)?) })
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String, HashError> {
        let (argon2, password) = (self.argon2.clone(), password.to_owned());
        self.workers.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            let length = argon2.params().output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
            let output = digest(&argon2, &password, salt.as_salt(), length)?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(argon2.params()).map_err(hash_error)?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            Ok(phc.to_string())
        })?
    }

    fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.workers.run(move || {
            if django::is_pbkdf2_sha256(&hash) {
                return django::verify_pbkdf2_sha256(&password, &hash);
            }
            let (argon2, salt, expected) = read_argon2(&hash)?;
            let computed = digest(&argon2, &password, salt, expected.len())?;
            // Output compares in constant time
            Ok(computed == expected)
        })?
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        !hash.starts_with(&self.current)
    }

    /// What [`verify`](PasswordHasher::verify) reads, read the same way but
    /// without computing a digest.
    fn recognizes(&self, hash: &str) -> bool {
        if django::is_pbkdf2_sha256(hash) {
            return django::read_pbkdf2_sha256(hash).is_ok();
        }
        read_argon2(hash).is_ok()
    }
}

/// An argon2 hash read from its PHC string (or Django's `argon2$…` form):
/// the instance that made it, its salt and its digest. A salt that does not
/// decode or is shorter than argon2 accepts, and costs over the limits
/// below, are refused here, before anything is computed.
fn read_argon2(hash: &str) -> Result<(Argon2<'static>, Salt<'_>, Output), HashError> {
    let parsed = PasswordHash::new(django::argon2_phc(hash).unwrap_or(hash)).map_err(hash_error)?;
    let expected = parsed.hash.ok_or_else(|| HashError("the hash has no digest".into()))?;
    let salt = parsed.salt.ok_or_else(|| HashError("the hash has no salt".into()))?;
    let mut room = [0_u8; 64];
    let salt_length = salt.decode_b64(&mut room).map_err(hash_error)?.len();
    if salt_length < argon2::MIN_SALT_LEN {
        return Err(HashError(format!(
            "an argon2 salt of {salt_length} bytes is refused (at least {})",
            argon2::MIN_SALT_LEN
        )));
    }
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(hash_error)?;
    let version = parsed.version.map(Version::try_from).transpose().map_err(hash_error)?.unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(hash_error)?;
    within_limits(&params)?;
    Ok((Argon2::new(algorithm, version, params), salt, expected))
}

/// The room reserved for a hash's memory, in bytes, at the least: more than
/// the 32 MiB glibc's allocator ever raises its mmap threshold to on 64-bit,
/// so each hash's memory is mapped fresh and given back to the system when
/// the hash is done, instead of staying in an arena (19 MiB per thread that
/// hashed). Only the blocks the hash uses are written.
const SCRATCH_BYTES: usize = 33 << 20;

/// The largest costs a stored argon2 hash may ask for (256 MiB, 16 passes,
/// 16 lanes; Django's default is 100 MiB, 2, 8): one that asks for more is
/// refused rather than computed, since a failed allocation would end the
/// process.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const MAX_PASSES: u32 = 16;
const MAX_LANES: u32 = 16;

/// The argon2 digest of `password` with `salt`, `length` bytes long.
fn digest(argon2: &Argon2<'_>, password: &str, salt: Salt<'_>, length: usize) -> Result<Output, HashError> {
    let mut salt_bytes = [0_u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(hash_error)?;
    Output::init_with(length, |out| {
        hash_into(argon2, password.as_bytes(), raw_salt, out).map_err(|_| password_hash::Error::Crypto)
    })
    .map_err(hash_error)
}

/// Computes an argon2 digest into `out` over memory of its own (see
/// [`SCRATCH_BYTES`]).
fn hash_into(argon2: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), HashError> {
    let params = argon2.params();
    within_limits(params)?;
    let blocks = params.block_count();
    let mut memory = Vec::with_capacity(blocks.max(SCRATCH_BYTES / Block::SIZE));
    memory.resize(blocks, Block::default());
    argon2.hash_password_into_with_memory(password, salt, out, &mut memory).map_err(hash_error)
}

/// Refuses costs over [`MAX_MEMORY_KIB`], [`MAX_PASSES`] and [`MAX_LANES`].
fn within_limits(params: &Params) -> Result<(), HashError> {
    if params.m_cost() > MAX_MEMORY_KIB || params.t_cost() > MAX_PASSES || params.p_cost() > MAX_LANES {
        return Err(HashError(format!(
            "an argon2 hash with m={}, t={}, p={} is refused (at most m={MAX_MEMORY_KIB}, t={MAX_PASSES}, p={MAX_LANES})",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    Ok(())
}

fn hash_error(error: impl std::fmt::Display) -> HashError {
    HashError(error.to_string())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHasher as _;

    use super::*;

    #[test]
    fn hashes_are_argon2id_with_at_least_the_owasp_cost_and_verify() -> Result<(), HashError> {
        let hasher = Argon2Hasher::new(HashCost { memory_kib: 8, iterations: 1, parallelism: 1 })?;
        let hash = hasher.hash("correct horse")?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse", &hash)?);
        assert!(!hasher.verify("correct horsE", &hash)?);
        assert_ne!(hasher.hash("correct horse")?, hash, "salts differ");
        assert!(hasher.verify("x", "not a phc string").is_err());
        assert!(!hasher.needs_rehash(&hash), "its own hash is kept");
        Ok(())
    }

    #[test]
    fn django_hashes_and_other_argon2_costs_verify_and_ask_for_a_rehash() -> Result<(), HashError> {
        let hasher = Argon2Hasher::new(HashCost::OWASP_MINIMUM)?;
        // Django 5.2: PBKDF2PasswordHasher().encode("correct horse", "seasalt", 1000)
        let pbkdf2 = "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=";
        // a cheaper argon2id of ours, and the same PHC string as Django writes it
        let cheaper = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).map_err(|e| HashError(e.to_string()))?,
        )
        .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
        .map_err(|e| HashError(e.to_string()))?
        .to_string();
        let django_argon2 = format!("argon2{cheaper}");
        for stale in [pbkdf2, cheaper.as_str(), django_argon2.as_str()] {
            assert!(hasher.verify("correct horse", stale)?, "{stale}");
            assert!(!hasher.verify("correct horsE", stale)?, "{stale}");
            assert!(hasher.needs_rehash(stale), "{stale}");
        }
        // made by Django 5.2.19 itself with argon2-cffi 25.1: make_password("correct horse battery
        // staple") under Argon2PasswordHasher, Django's own cost (100 MiB, t = 2, p = 8)
        let made_by_django = "argon2$argon2id$v=19$m=102400,t=2,p=8$Mndma0hXc0xvc0lZTERlZmdZV1c4Vw\
                              $J+9dymU70nHXe24Bf+gpfIdDLV1EtPQuCVQNaa8rQ2E";
        assert!(hasher.verify("correct horse battery staple", made_by_django)?);
        assert!(!hasher.verify("correct horse battery stapler", made_by_django)?);
        assert!(hasher.needs_rehash(made_by_django));
        // Django's mark of an account without a usable password matches nothing
        assert!(hasher.verify("", "!jQ8sDkz3N1Ep2LxR").is_err());
        // a stored hash that asks for 4 GiB is refused, not computed
        let huge = cheaper.replace("m=8,t=1,p=1", "m=4194304,t=1,p=1");
        assert!(hasher.verify("correct horse", &huge).is_err(), "{huge}");
        Ok(())
    }

    #[test]
    fn it_recognizes_what_it_verifies_and_nothing_else() -> Result<(), HashError> {
        let hasher = Argon2Hasher::new(HashCost::OWASP_MINIMUM)?;
        let own = hasher.hash("correct horse")?;
        let readable = [
            own.clone(),
            format!("argon2{own}"),
            "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=".to_owned(),
        ];
        let unreadable = [
            String::new(),
            "!jQ8sDkz3N1Ep2LxR".to_owned(),
            "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuu5Rk7sYI5nN0y0lJQ0O9v4Q0Ww2s4nQm".to_owned(),
            "pbkdf2_sha1$1000$seasalt$AAAA".to_owned(),
            "pbkdf2_sha256$many$seasalt$AAAA".to_owned(),
            "pbkdf2_sha256$9000000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=".to_owned(),
            own.replace("m=19456", "m=4194304"),
            own.replace("$argon2id$", "$scrypt$"),
            // a salt of 6 bytes, and one that is not base64
            format!("$argon2id$v=19$m=19456,t=2,p=1$c2hvcnRz${}", own.rsplit('$').next().unwrap_or_default()),
            format!("$argon2id$v=19$m=19456,t=2,p=1$c2hvcnRzYWx0!!${}", own.rsplit('$').next().unwrap_or_default()),
        ];
        for hash in &readable {
            assert!(hasher.recognizes(hash), "{hash}");
            assert!(hasher.verify("correct horse", hash).is_ok(), "{hash}");
        }
        for hash in &unreadable {
            assert!(!hasher.recognizes(hash), "{hash}");
            assert!(hasher.verify("correct horse", hash).is_err(), "{hash}");
        }
        Ok(())
    }
}
