//! Entries in Redis (when `WEIR_REDIS_URL` is set), so an answer stored by one replica is a hit
//! at every replica, and a purge at one is a purge everywhere.
//!
//! An entry is one string key with its TTL, `{prefix}cache:{P}:e:{M}:{digest}`, where `P` and
//! `M` are short hashes of the partition and the model (names may hold any character; keys and
//! match patterns must not). A partition's entries are listed, oldest first, in a sorted set
//! `{prefix}cache:{P}:idx`; storing past `partition_max_entries` removes the oldest — one
//! script, so replicas storing at once never leave more. `{P}` is a hash tag: a partition's
//! keys live on one node of a cluster. A lookup is one `GET`; the caller bounds its time, and
//! any failure is a miss (logged), never a failed call.

use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use sha2::{Digest, Sha256};

use super::{CacheKey, CacheStore, Entry, Purge};
use crate::redis_conn::LazyConnection;

/// Stores the entry, lists it in its partition, and removes the partition's oldest past the cap.
/// KEYS: entry, index. ARGV: value, ttl ms, now ms, cap.
const PUT: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
local cap = tonumber(ARGV[4])
local n = redis.call('ZCARD', KEYS[2])
if n > cap then
  local old = redis.call('ZRANGE', KEYS[2], 0, n - cap - 1)
  for _, k in ipairs(old) do redis.call('DEL', k) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - cap - 1)
end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return n
";

pub struct RedisStore {
    conn: LazyConnection,
    prefix: String,
    partition_max: usize,
    put: Script,
}

/// A short, fixed-alphabet name for a partition or a model.
pub(super) fn tag(name: &str) -> String {
    hex::encode(&Sha256::digest(name.as_bytes())[..8])
}

/// `s` with the characters a `SCAN MATCH` pattern treats specially escaped.
pub(super) fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl RedisStore {
    pub fn new(url: &str, prefix: &str, partition_max: usize) -> redis::RedisResult<Self> {
        Ok(Self {
            conn: LazyConnection::new(url, Duration::from_millis(500), Duration::from_millis(500))?,
            prefix: prefix.to_string(),
            partition_max,
            put: Script::new(PUT),
        })
    }

    fn entry_key(&self, key: &CacheKey) -> String {
        format!("{}cache:{{{}}}:e:{}:{}", self.prefix, tag(&key.partition), tag(&key.model), key.digest_hex())
    }

    fn index_key(&self, partition: &str) -> String {
        format!("{}cache:{{{}}}:idx", self.prefix, tag(partition))
    }

    async fn try_get(&self, key: &CacheKey) -> redis::RedisResult<Option<Entry>> {
        let mut c = self.conn.get().await?;
        let raw: Option<String> = redis::cmd("GET").arg(self.entry_key(key)).query_async(&mut c).await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    async fn try_put(&self, key: &CacheKey, entry: &Entry, ttl: Duration) -> redis::RedisResult<()> {
        let mut c = self.conn.get().await?;
        let value = serde_json::to_string(entry).unwrap_or_default();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: i64 = self
            .put
            .key(self.entry_key(key))
            .key(self.index_key(&key.partition))
            .arg(value)
            .arg(ttl_ms)
            .arg(crate::store::now_ms())
            .arg(self.partition_max)
            .invoke_async(&mut c)
            .await?;
        Ok(())
    }

    async fn try_purge(&self, what: &Purge) -> redis::RedisResult<u64> {
        let mut c = self.conn.get().await?;
        let p = what.partition.as_deref().map_or_else(|| "*".to_string(), tag);
        let m = what.model.as_deref().map_or_else(|| "*".to_string(), tag);
        let pattern = format!("{}cache:{{{p}}}:e:{m}:*", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000).query_async(&mut c).await?;
            // A page's keys go in one round trip, each out of its partition's list too (the
            // partition's tag is the key's hash tag).
            let mut pipe = redis::pipe();
            for k in &keys {
                pipe.cmd("DEL").arg(k);
                if let Some(part) = k.split('{').nth(1).and_then(|s| s.split('}').next()) {
                    pipe.cmd("ZREM").arg(format!("{}cache:{{{part}}}:idx", self.prefix)).arg(k).ignore();
                }
            }
            if !keys.is_empty() {
                let deleted: Vec<u64> = pipe.query_async(&mut c).await?;
                removed += deleted.iter().sum::<u64>();
            }
            cursor = next;
            if cursor == 0 {
                return Ok(removed);
            }
        }
    }
}

#[async_trait::async_trait]
impl CacheStore for RedisStore {
    async fn get_checked(&self, key: &CacheKey) -> Result<Option<Arc<Entry>>, ()> {
        self.try_get(key).await.map(|e| e.map(Arc::new)).map_err(|e| tracing::warn!(error = %e, "response cache: Redis lookup failed; answering as a miss"))
    }

    async fn put(&self, key: &CacheKey, entry: Entry, ttl: Duration) {
        if let Err(e) = self.try_put(key, &entry, ttl).await {
            tracing::warn!(error = %e, "response cache: Redis did not store an answer");
        }
    }

    async fn purge(&self, what: &Purge) -> Result<u64, String> {
        self.try_purge(what).await.map_err(|e| format!("Redis: {e}"))
    }
}
