//! Entries in this replica's memory: bounded in entries, in bytes and per partition, the least
//! recently used going first; each entry expires after its TTL.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{CacheKey, CacheStore, Entry, Purge};

pub struct MemoryStore {
    lru: Mutex<Lru>,
    max_entries: usize,
    max_bytes: usize,
    partition_max: usize,
}

struct Slot {
    entry: Arc<Entry>,
    expires: Instant,
    /// When it was last used (higher is later).
    tick: u64,
    bytes: usize,
}

/// The maps' hashing: foldhash, seeded at random per process (a key's digest is BLAKE3's, and
/// SipHash's cost was a fair part of a hit).
type Map<K, V> = HashMap<K, V, foldhash::quality::RandomState>;

#[derive(Default)]
struct Lru {
    slots: Map<CacheKey, Slot>,
    /// Keys by last use, oldest first.
    order: BTreeMap<u64, CacheKey>,
    /// Each partition's entries by last use.
    partitions: Map<String, BTreeSet<u64>>,
    bytes: usize,
    next_tick: u64,
}

impl Lru {
    fn remove(&mut self, key: &CacheKey) -> Option<Slot> {
        let slot = self.slots.remove(key)?;
        self.order.remove(&slot.tick);
        if let Some(p) = self.partitions.get_mut(&key.partition) {
            p.remove(&slot.tick);
            if p.is_empty() {
                self.partitions.remove(&key.partition);
            }
        }
        self.bytes -= slot.bytes;
        Some(slot)
    }

    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }

    /// Marks `key` used now.
    fn touch(&mut self, key: &CacheKey) {
        let tick = self.tick();
        let Some(slot) = self.slots.get_mut(key) else { return };
        let old = std::mem::replace(&mut slot.tick, tick);
        self.order.remove(&old);
        self.order.insert(tick, key.clone());
        if let Some(p) = self.partitions.get_mut(&key.partition) {
            p.remove(&old);
            p.insert(tick);
        }
    }

    fn evict_oldest(&mut self) -> bool {
        let Some(key) = self.order.first_key_value().map(|(_, k)| k.clone()) else { return false };
        self.remove(&key).is_some()
    }
}

impl MemoryStore {
    pub fn new(max_entries: usize, max_bytes: usize, partition_max: usize) -> Self {
        Self { lru: Mutex::new(Lru::default()), max_entries, max_bytes, partition_max }
    }

    /// Entries and bytes held now.
    pub fn len_and_bytes(&self) -> (usize, usize) {
        let lru = self.lru.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (lru.slots.len(), lru.bytes)
    }

    pub fn get_now(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        let mut lru = self.lru.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = lru.slots.get(key)?;
        if slot.expires <= Instant::now() {
            lru.remove(key);
            return None;
        }
        let entry = Arc::clone(&slot.entry);
        lru.touch(key);
        Some(entry)
    }

    pub fn put_now(&self, key: &CacheKey, entry: Entry, ttl: Duration) {
        let bytes = entry.size() + key.partition.len() + key.model.len();
        if bytes > self.max_bytes {
            return;
        }
        let mut lru = self.lru.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        lru.remove(key);
        // The partition's oldest make room first, then the replica's.
        while lru.partitions.get(&key.partition).is_some_and(|p| p.len() >= self.partition_max) {
            let Some(oldest) = lru.partitions.get(&key.partition).and_then(|p| p.first().copied()) else { break };
            let Some(k) = lru.order.get(&oldest).cloned() else { break };
            lru.remove(&k);
        }
        while lru.slots.len() >= self.max_entries || lru.bytes + bytes > self.max_bytes {
            if !lru.evict_oldest() {
                break;
            }
        }
        let tick = lru.tick();
        lru.order.insert(tick, key.clone());
        lru.partitions.entry(key.partition.clone()).or_default().insert(tick);
        lru.bytes += bytes;
        lru.slots.insert(key.clone(), Slot { entry: Arc::new(entry), expires: Instant::now() + ttl, tick, bytes });
    }

    pub fn purge_now(&self, what: &Purge) -> u64 {
        let mut lru = self.lru.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let keys: Vec<CacheKey> = lru.slots.keys().filter(|k| what.matches(k)).cloned().collect();
        for k in &keys {
            lru.remove(k);
        }
        keys.len() as u64
    }
}

#[async_trait::async_trait]
impl CacheStore for MemoryStore {
    async fn get_checked(&self, key: &CacheKey) -> Result<Option<Arc<Entry>>, ()> {
        Ok(self.get_now(key))
    }

    async fn put(&self, key: &CacheKey, entry: Entry, ttl: Duration) {
        self.put_now(key, entry, ttl);
    }

    async fn purge(&self, what: &Purge) -> Result<u64, String> {
        Ok(self.purge_now(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Api;

    fn key(partition: &str, i: u32) -> CacheKey {
        let mut digest = [0u8; 32];
        digest[..4].copy_from_slice(&i.to_le_bytes());
        CacheKey { partition: partition.into(), model: "m".into(), digest }
    }

    fn entry(body_len: usize) -> Entry {
        Entry { api: Api::Chat, body: "x".repeat(body_len), origin: "r".into(), input_tokens: 1, output_tokens: 2, cost_usd: 0.0, stored_at: 0, model: None, id: None, finish_reasons: Vec::new() }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn the_least_recently_used_go_first_within_every_bound() {
        let s = MemoryStore::new(3, 1 << 20, 100);
        for i in 0..3 {
            s.put_now(&key("a", i), entry(10), HOUR);
        }
        assert!(s.get_now(&key("a", 0)).is_some(), "0 is now the most recently used");
        s.put_now(&key("a", 3), entry(10), HOUR);
        assert!(s.get_now(&key("a", 1)).is_none(), "1 was the least recently used");
        assert!(s.get_now(&key("a", 0)).is_some() && s.get_now(&key("a", 3)).is_some());
        assert_eq!(s.len_and_bytes().0, 3);

        // Bytes: entries of ~1 KB in 4 KB.
        let s = MemoryStore::new(1000, 4096, 1000);
        for i in 0..100 {
            s.put_now(&key("a", i), entry(1000), HOUR);
            assert!(s.len_and_bytes().1 <= 4096);
        }
        assert!(s.get_now(&key("a", 99)).is_some());
        assert!(s.get_now(&key("a", 0)).is_none());
        s.put_now(&key("a", 1000), entry(5000), HOUR);
        assert!(s.get_now(&key("a", 1000)).is_none(), "larger than the whole bound: not kept");

        // Per partition: one agent filling its partition does not evict another's.
        let s = MemoryStore::new(1000, 1 << 20, 5);
        s.put_now(&key("b", 0), entry(10), HOUR);
        for i in 0..50 {
            s.put_now(&key("a", i), entry(10), HOUR);
        }
        assert!(s.get_now(&key("b", 0)).is_some());
        assert_eq!(s.len_and_bytes().0, 6);
    }

    #[test]
    fn entries_expire_and_purges_take_only_what_they_name() {
        let s = MemoryStore::new(100, 1 << 20, 100);
        s.put_now(&key("a", 0), entry(10), Duration::from_millis(30));
        s.put_now(&key("a", 1), entry(10), HOUR);
        s.put_now(&key("b", 0), entry(10), HOUR);
        std::thread::sleep(Duration::from_millis(50));
        assert!(s.get_now(&key("a", 0)).is_none());
        assert_eq!(s.purge_now(&Purge { partition: Some("a".into()), model: None }), 1);
        assert!(s.get_now(&key("a", 1)).is_none());
        assert!(s.get_now(&key("b", 0)).is_some());
        assert_eq!(s.purge_now(&Purge { partition: None, model: Some("other".into()) }), 0);
        assert_eq!(s.purge_now(&Purge { partition: None, model: Some("m".into()) }), 1);
        assert_eq!(s.len_and_bytes(), (0, 0));
    }
}
