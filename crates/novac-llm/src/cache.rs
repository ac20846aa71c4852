//! [`VerdictCache`]: successful answers, kept for a while (LRU + TTL).
//!
//! The key is a SHA-256 digest of the pattern, the text, the provider, the
//! endpoint, the model and the temperature the provider is sent (each
//! length-prefixed, so no two different tuples share an input), so prompts
//! are not kept in memory. Eviction is least-recently-used; an entry older
//! than the TTL is a miss and is dropped. One mutex guards the table; it is
//! held only for a lookup or an insert, never across a model call.

use novac::LlmVerdict;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A cache key: the digest of what the answer depends on.
pub type CacheKey = [u8; 32];

/// The key of one question.
pub fn cache_key(parts: &[&[u8]]) -> CacheKey {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

struct Entry {
    verdict: LlmVerdict,
    stored: Instant,
    used: u64,
}

#[derive(Default)]
struct Table {
    entries: HashMap<CacheKey, Entry>,
    /// Use tick → key, oldest first.
    recency: BTreeMap<u64, CacheKey>,
    tick: u64,
}

/// An LRU cache of verdicts whose entries expire.
pub struct VerdictCache {
    capacity: usize,
    ttl: Duration,
    table: Mutex<Table>,
}

impl VerdictCache {
    /// A cache of at most `capacity` entries (0: caches nothing), each valid for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> VerdictCache {
        VerdictCache {
            capacity,
            ttl,
            table: Mutex::new(Table::default()),
        }
    }

    /// The verdict stored under `key` at `now`, if fresh; marks it recently used.
    pub fn get(&self, key: &CacheKey, now: Instant) -> Option<LlmVerdict> {
        let mut t = self.table.lock().ok()?;
        let t = &mut *t;
        let entry = t.entries.get_mut(key)?;
        if now.saturating_duration_since(entry.stored) >= self.ttl {
            let used = entry.used;
            t.entries.remove(key);
            t.recency.remove(&used);
            return None;
        }
        t.tick += 1;
        t.recency.remove(&entry.used);
        entry.used = t.tick;
        t.recency.insert(t.tick, *key);
        Some(entry.verdict.clone())
    }

    /// Stores `verdict` under `key` at `now`, evicting the least recently used entries.
    pub fn put(&self, key: CacheKey, verdict: LlmVerdict, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut t) = self.table.lock() else {
            return;
        };
        let t = &mut *t;
        t.tick += 1;
        let used = t.tick;
        if let Some(old) = t.entries.insert(
            key,
            Entry {
                verdict,
                stored: now,
                used,
            },
        ) {
            t.recency.remove(&old.used);
        }
        t.recency.insert(used, key);
        while t.entries.len() > self.capacity {
            let Some((_, oldest)) = t.recency.pop_first() else {
                break;
            };
            t.entries.remove(&oldest);
        }
    }

    /// Entries stored (fresh or not yet noticed as stale).
    pub fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.entries.len())
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        if let Ok(mut t) = self.table.lock() {
            t.entries.clear();
            t.recency.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(reason: &str) -> LlmVerdict {
        LlmVerdict {
            matched: true,
            reason: reason.into(),
            ..LlmVerdict::default()
        }
    }

    #[test]
    fn keys_separate_fields() {
        assert_ne!(cache_key(&[b"ab", b"c"]), cache_key(&[b"a", b"bc"]));
        assert_eq!(cache_key(&[b"a", b"b"]), cache_key(&[b"a", b"b"]));
    }

    #[test]
    fn least_recently_used_is_evicted() {
        let c = VerdictCache::new(2, Duration::from_secs(300));
        let now = Instant::now();
        let (a, b, d) = (cache_key(&[b"a"]), cache_key(&[b"b"]), cache_key(&[b"d"]));
        c.put(a, v("a"), now);
        c.put(b, v("b"), now);
        assert!(c.get(&a, now).is_some()); // a is now the most recent
        c.put(d, v("d"), now);
        assert_eq!(c.len(), 2);
        assert!(c.get(&b, now).is_none(), "b was least recently used");
        assert_eq!(c.get(&a, now).unwrap().reason, "a");
        assert_eq!(c.get(&d, now).unwrap().reason, "d");
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = VerdictCache::new(10, Duration::from_secs(300));
        let now = Instant::now();
        let k = cache_key(&[b"k"]);
        c.put(k, v("k"), now);
        assert!(c.get(&k, now + Duration::from_secs(299)).is_some());
        assert!(c.get(&k, now + Duration::from_secs(300)).is_none());
        assert!(c.is_empty(), "the stale entry is dropped");
    }

    #[test]
    fn clear_forgets_everything() {
        let c = VerdictCache::new(10, Duration::from_secs(300));
        let (now, k) = (Instant::now(), cache_key(&[b"k"]));
        c.put(k, v("k"), now);
        c.clear();
        assert!(c.is_empty() && c.get(&k, now).is_none());
        c.put(k, v("again"), now);
        assert_eq!(c.get(&k, now).unwrap().reason, "again");
    }

    #[test]
    fn capacity_zero_disables_the_cache() {
        let c = VerdictCache::new(0, Duration::from_secs(300));
        let k = cache_key(&[b"k"]);
        c.put(k, v("k"), Instant::now());
        assert!(c.get(&k, Instant::now()).is_none());
    }

    #[test]
    fn the_default_size_holds_a_thousand_entries() {
        let c = VerdictCache::new(1000, Duration::from_secs(300));
        let now = Instant::now();
        for i in 0..1500u32 {
            c.put(cache_key(&[&i.to_le_bytes()]), v("x"), now);
        }
        assert_eq!(c.len(), 1000);
        assert!(c.get(&cache_key(&[&0u32.to_le_bytes()]), now).is_none());
        assert!(c.get(&cache_key(&[&1499u32.to_le_bytes()]), now).is_some());
    }
}
