//! Pseudonymized user ids: HMAC-SHA256 of the id under a key read from a
//! file (never written anywhere), shown as `p_` and the first 128 bits in
//! hex. The same key gives the same pseudonym on every run, so history and
//! downstream joins keep working; without the key an id cannot be tested
//! against a pseudonym (a plain hash of a customer number could be
//! reversed by trying every number).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::UsageError;

#[derive(Clone)]
pub struct Pseudonymizer {
    inner: [u8; 64],
    outer: [u8; 64],
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(key hidden)")
    }
}

impl Pseudonymizer {
    pub fn new(key: &[u8]) -> Pseudonymizer {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner = [0x36u8; 64];
        let mut outer = [0x5cu8; 64];
        for i in 0..64 {
            inner[i] ^= k[i];
            outer[i] ^= k[i];
        }
        Pseudonymizer { inner, outer }
    }

    /// The key is the file's bytes without a trailing newline; at least 16.
    pub fn from_file(path: &Path) -> Result<Pseudonymizer, UsageError> {
        let bytes = std::fs::read(path).map_err(|e| {
            UsageError(format!(
                "{}: cannot read the pseudonymization key: {e}",
                path.display()
            ))
        })?;
        let key = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let key = key.strip_suffix(b"\r").unwrap_or(key);
        if key.len() < 16 {
            return Err(UsageError(format!(
                "{}: the key has {} bytes; use at least 16 random bytes (e.g. `head -c 32 /dev/urandom | base64 > key`)",
                path.display(),
                key.len()
            )));
        }
        Ok(Pseudonymizer::new(key))
    }

    pub fn mac(&self, msg: &[u8]) -> [u8; 32] {
        let inner = Sha256::new()
            .chain_update(self.inner)
            .chain_update(msg)
            .finalize();
        Sha256::new()
            .chain_update(self.outer)
            .chain_update(inner)
            .finalize()
            .into()
    }

    pub fn id(&self, user: &str) -> String {
        let mac = self.mac(user.as_bytes());
        let mut s = String::with_capacity(34);
        s.push_str("p_");
        for b in &mac[..16] {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn rfc_4231_vectors() {
        let p = Pseudonymizer::new(b"Jefe");
        assert_eq!(
            hex(&p.mac(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Case 6: a key longer than the block.
        let p = Pseudonymizer::new(&[0xaa; 131]);
        assert_eq!(
            hex(&p.mac(b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        let a = Pseudonymizer::new(b"0123456789abcdef");
        assert_eq!(a.id("c0000001"), a.id("c0000001"));
        assert_ne!(
            a.id("c0000001"),
            Pseudonymizer::new(b"0123456789abcdeg").id("c0000001")
        );
        assert_eq!(a.id("x").len(), 34);
    }
}
