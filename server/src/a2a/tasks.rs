//! Who created each task. Every caller reaches a target through Weir (which calls the target
//! with one set of credentials), so the target cannot tell callers apart; Weir can. A task
//! created through Weir belongs to its caller; another caller asking after it is told the task
//! does not exist.
//!
//! In memory (bounded, oldest first) on one replica; in Redis when it is set, so a task
//! created at one replica is its caller's at every other (`{prefix}a2a:task:{target}:{task}`,
//! with a TTL). A Redis that cannot answer fails the check closed: the caller is told to try
//! again, never shown another's task.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::AsyncCommands;

use crate::redis_conn::LazyConnection;

#[derive(Debug, thiserror::Error)]
#[error("the task store is unavailable: {0}")]
pub struct TaskStoreError(String);

pub enum TaskOwners {
    Memory(Mutex<MemoryOwners>),
    Redis { conn: LazyConnection, prefix: String },
}

pub struct MemoryOwners {
    owners: HashMap<(String, String), (String, Instant)>,
    order: VecDeque<(String, String)>,
    max: usize,
}

impl TaskOwners {
    pub fn memory(max: usize) -> Self {
        Self::Memory(Mutex::new(MemoryOwners { owners: HashMap::new(), order: VecDeque::new(), max }))
    }

    pub fn redis(url: &str, prefix: &str) -> Result<Self, TaskStoreError> {
        let conn = LazyConnection::new(url, Duration::from_millis(500), Duration::from_millis(500)).map_err(|e| TaskStoreError(e.to_string()))?;
        Ok(Self::Redis { conn, prefix: prefix.to_string() })
    }

    fn key(prefix: &str, target: &str, task: &str) -> String {
        format!("{prefix}a2a:task:{target}:{task}")
    }

    /// Records `agent` as the owner of `task` unless someone already is. Returns whether the
    /// task is `agent`'s (false: another caller's).
    pub async fn claim(&self, target: &str, task: &str, agent: &str, ttl: Duration) -> Result<bool, TaskStoreError> {
        match self {
            Self::Memory(m) => {
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                let key = (target.to_string(), task.to_string());
                if let Some((owner, at)) = m.owners.get(&key) {
                    if at.elapsed() < ttl {
                        return Ok(owner == agent);
                    }
                }
                if m.owners.insert(key.clone(), (agent.to_string(), Instant::now())).is_none() {
                    m.order.push_back(key);
                }
                while m.owners.len() > m.max {
                    let Some(old) = m.order.pop_front() else { break };
                    m.owners.remove(&old);
                }
                Ok(true)
            }
            Self::Redis { conn, prefix } => {
                let mut c = conn.get().await.map_err(|e| TaskStoreError(e.to_string()))?;
                let key = Self::key(prefix, target, task);
                let set: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(agent)
                    .arg("NX")
                    .arg("EX")
                    .arg(ttl.as_secs().max(1))
                    .query_async(&mut c)
                    .await
                    .map_err(|e| TaskStoreError(e.to_string()))?;
                if set.is_some() {
                    return Ok(true);
                }
                let owner: Option<String> = c.get(&key).await.map_err(|e| TaskStoreError(e.to_string()))?;
                Ok(owner.as_deref() == Some(agent))
            }
        }
    }

    /// The owners of `tasks` (none: not created through Weir, or forgotten).
    pub async fn owners(&self, target: &str, tasks: &[&str], ttl: Duration) -> Result<Vec<Option<String>>, TaskStoreError> {
        match self {
            Self::Memory(m) => {
                let m = m.lock().unwrap_or_else(|p| p.into_inner());
                Ok(tasks
                    .iter()
                    .map(|t| m.owners.get(&(target.to_string(), t.to_string())).filter(|(_, at)| at.elapsed() < ttl).map(|(o, _)| o.clone()))
                    .collect())
            }
            Self::Redis { conn, prefix } => {
                if tasks.is_empty() {
                    return Ok(Vec::new());
                }
                let mut c = conn.get().await.map_err(|e| TaskStoreError(e.to_string()))?;
                let keys: Vec<String> = tasks.iter().map(|t| Self::key(prefix, target, t)).collect();
                // MGET of one key answers a plain value, not a list: ask with the list form.
                let owners: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(&mut c).await.map_err(|e| TaskStoreError(e.to_string()))?;
                Ok(owners)
            }
        }
    }

    /// Whether `task` is `agent`'s.
    #[cfg(test)]
    async fn is_owner(&self, target: &str, task: &str, agent: &str, ttl: Duration) -> Result<bool, TaskStoreError> {
        Ok(self.owners(target, &[task], ttl).await?.first().cloned().flatten().as_deref() == Some(agent))
    }

    /// Owners kept in memory (Redis keeps its own count).
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Self::Memory(m) => m.lock().map(|m| m.owners.len()).unwrap_or(0),
            Self::Redis { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_is_its_first_callers_and_the_memory_is_bounded() {
        let owners = TaskOwners::memory(2);
        let ttl = Duration::from_secs(60);
        assert!(owners.claim("echo", "t1", "a", ttl).await.unwrap());
        assert!(!owners.claim("echo", "t1", "b", ttl).await.unwrap(), "a second caller does not take it over");
        assert!(owners.claim("echo", "t1", "a", ttl).await.unwrap());
        assert!(owners.claim("other", "t1", "b", ttl).await.unwrap(), "tasks are per target");
        assert!(owners.is_owner("echo", "t1", "a", ttl).await.unwrap());
        assert!(!owners.is_owner("echo", "t1", "b", ttl).await.unwrap());
        owners.claim("echo", "t2", "a", ttl).await.unwrap();
        assert_eq!(owners.len(), 2, "bounded: the oldest is forgotten");
        assert!(!owners.is_owner("echo", "t1", "a", ttl).await.unwrap());
        assert_eq!(owners.owners("echo", &["t2", "zz"], ttl).await.unwrap(), vec![Some("a".to_string()), None]);
    }

    #[tokio::test]
    async fn an_expired_owner_is_forgotten() {
        let owners = TaskOwners::memory(10);
        owners.claim("echo", "t", "a", Duration::from_secs(60)).await.unwrap();
        assert!(!owners.is_owner("echo", "t", "a", Duration::ZERO).await.unwrap());
        assert!(owners.claim("echo", "t", "b", Duration::ZERO).await.unwrap());
    }
}
