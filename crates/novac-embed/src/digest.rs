//! A stable 64-bit digest of the weights file (FNV-1a over 8-byte words), part
//! of the model identity that stored pattern embeddings are checked against.

/// FNV-1a (64-bit) over little-endian 8-byte words, then the tail bytes and
/// the length. Stable across platforms and Rust versions; not cryptographic.
pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(PRIME);
    }
    for b in chunks.remainder() {
        h = (h ^ u64::from(*b)).wrapping_mul(PRIME);
    }
    (h ^ bytes.len() as u64).wrapping_mul(PRIME)
}

#[cfg(test)]
mod tests {
    #[test]
    fn digest_is_stable() {
        assert_eq!(super::fnv64(b""), super::fnv64(b""));
        assert_ne!(super::fnv64(b"abcdefgh1"), super::fnv64(b"abcdefgh2"));
    }
}
