//! Counters in Redis, shared by every replica.
//!
//! Each operation is one Lua script, so one round trip and atomic: a reservation checks every
//! counter and adds to all of them, or to none. An `epoch` key marks state that was rebuilt
//! from the audit store; when Redis loses its data the epoch is gone, reservations answer
//! "needs seed" until a replica rebuilds it, and reconciliations of reservations made before the
//! loss add the real usage instead of a difference.

use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::ConnectionManager;
use redis::Script;

use super::counters::{Charge, CounterError, Counters, Delta, Reserved};

const RESERVE: &str = r"
local epoch = redis.call('GET', KEYS[1])
if not epoch then return {-1} end
local n = #KEYS - 1
for i = 1, n do
  local cur = tonumber(redis.call('GET', KEYS[i+1]) or '0')
  if cur + tonumber(ARGV[3*i-2]) > tonumber(ARGV[3*i-1]) then return {i, cur} end
end
local out = {0, epoch}
for i = 1, n do
  local k = KEYS[i+1]
  out[#out+1] = redis.call('INCRBY', k, ARGV[3*i-2])
  if ARGV[3*i] ~= '0' then redis.call('PEXPIREAT', k, ARGV[3*i]) end
end
return out
";

const ADJUST: &str = r"
local epoch = redis.call('GET', KEYS[1])
if not epoch then return 0 end
local same = (epoch == ARGV[1])
for i = 1, #KEYS - 1 do
  local k = KEYS[i+1]
  local amount = ARGV[3*i]
  if same then amount = ARGV[3*i-1] end
  redis.call('INCRBY', k, amount)
  if ARGV[3*i+1] ~= '0' then redis.call('PEXPIREAT', k, ARGV[3*i+1]) end
end
return 1
";

const SEED: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, #KEYS - 1 do
  local k = KEYS[i+1]
  redis.call('SET', k, ARGV[2*i])
  if ARGV[2*i+1] ~= '0' then redis.call('PEXPIREAT', k, ARGV[2*i+1]) end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
";

pub struct RedisCounters {
    conn: crate::redis_conn::LazyConnection,
    prefix: String,
    reserve: Script,
    adjust: Script,
    seed: Script,
}

/// Expiry argument: 0 for counters that never expire (lifetime windows).
fn expiry(ms: i64) -> i64 {
    if ms >= i64::MAX / 2 { 0 } else { ms }
}

/// A connection that broke (Redis restarted, say): the manager reconnects, so one retry is
/// worth it. A timeout is not retried: it would only double the wait.
fn dropped(e: &redis::RedisError) -> bool {
    (e.is_connection_dropped() || e.is_io_error()) && !e.is_timeout()
}

fn err(e: redis::RedisError) -> CounterError {
    CounterError(e.to_string())
}

impl RedisCounters {
    pub fn new(url: &str, prefix: &str) -> Result<Self, CounterError> {
        Ok(Self {
            // Timeouts are short: a Redis that stops answering must be noticed within a request.
            conn: crate::redis_conn::LazyConnection::new(url, Duration::from_millis(500), Duration::from_millis(500)).map_err(err)?,
            prefix: prefix.to_string(),
            reserve: Script::new(RESERVE),
            adjust: Script::new(ADJUST),
            seed: Script::new(SEED),
        })
    }

    async fn conn(&self) -> Result<ConnectionManager, CounterError> {
        self.conn.get().await.map_err(err)
    }

    fn epoch_key(&self) -> String {
        format!("{}epoch", self.prefix)
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    pub async fn ping(&self) -> Result<(), CounterError> {
        let mut c = self.conn().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await.map_err(err)?;
        Ok(())
    }
}

impl Counters for RedisCounters {
    fn reserve<'a>(&'a self, charges: &'a [Charge], _now_ms: i64) -> BoxFuture<'a, Result<Reserved, CounterError>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let mut inv = self.reserve.prepare_invoke();
            inv.key(self.epoch_key());
            for ch in charges {
                inv.key(self.key(&ch.key)).arg(ch.amount).arg(ch.limit).arg(expiry(ch.expires_at_ms));
            }
            let out: Vec<redis::Value> = match inv.invoke_async(&mut c).await {
                Err(e) if dropped(&e) => inv.invoke_async(&mut c).await.map_err(err)?,
                other => other.map_err(err)?,
            };
            let int = |v: &redis::Value| -> i64 {
                match v {
                    redis::Value::Int(i) => *i,
                    redis::Value::BulkString(b) => String::from_utf8_lossy(b).parse().unwrap_or(0),
                    _ => 0,
                }
            };
            let head = out.first().map(int).unwrap_or(-1);
            Ok(match head {
                -1 => Reserved::NeedsSeed,
                0 => {
                    let epoch = match out.get(1) {
                        Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                        Some(v) => int(v).to_string(),
                        None => String::new(),
                    };
                    Reserved::Admitted { values: out.iter().skip(2).map(int).collect(), epoch }
                }
                i => Reserved::Refused { index: (i - 1) as usize, current: out.get(1).map(int).unwrap_or(0) },
            })
        })
    }

    fn adjust<'a>(&'a self, deltas: &'a [Delta], epoch: &'a str, _now_ms: i64) -> BoxFuture<'a, Result<(), CounterError>> {
        Box::pin(async move {
            if deltas.is_empty() {
                return Ok(());
            }
            let mut c = self.conn().await?;
            let mut inv = self.adjust.prepare_invoke();
            inv.key(self.epoch_key()).arg(epoch);
            for d in deltas {
                inv.key(self.key(&d.key)).arg(d.delta).arg(d.full).arg(expiry(d.expires_at_ms));
            }
            let _: i64 = match inv.invoke_async(&mut c).await {
                Err(e) if dropped(&e) => inv.invoke_async(&mut c).await.map_err(err)?,
                other => other.map_err(err)?,
            };
            Ok(())
        })
    }

    fn seeded<'a>(&'a self) -> BoxFuture<'a, Result<bool, CounterError>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let key = self.epoch_key();
            let n: i64 = match redis::cmd("EXISTS").arg(&key).query_async(&mut c).await {
                Err(e) if dropped(&e) => redis::cmd("EXISTS").arg(&key).query_async(&mut c).await.map_err(err)?,
                other => other.map_err(err)?,
            };
            Ok(n == 1)
        })
    }

    fn read<'a>(&'a self, keys: &'a [String], _now_ms: i64) -> BoxFuture<'a, Result<Vec<i64>, CounterError>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut c = self.conn().await?;
            let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
            let vals: Vec<Option<i64>> = redis::cmd("MGET").arg(&full).query_async(&mut c).await.map_err(err)?;
            Ok(vals.into_iter().map(|v| v.unwrap_or(0)).collect())
        })
    }

    fn seed<'a>(&'a self, values: &'a [(String, i64, i64)], _now_ms: i64) -> BoxFuture<'a, Result<(), CounterError>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let mut inv = self.seed.prepare_invoke();
            inv.key(self.epoch_key()).arg(uuid::Uuid::new_v4().simple().to_string());
            for (k, v, exp) in values {
                inv.key(self.key(k)).arg(*v).arg(expiry(*exp));
            }
            let _: i64 = inv.invoke_async(&mut c).await.map_err(err)?;
            Ok(())
        })
    }
}
