//! Who created each task. Every caller reaches a target through Weir (which calls the target
//! with one set of credentials), so the target cannot tell callers apart; Weir can. A task
//! created through Weir belongs to its caller; another caller asking after it is told the task
//! does not exist.
//!
//! In memory on one replica, bounded: past the bound, the caller holding the most tasks loses
//! its oldest (a caller that creates tasks without end pushes out only its own). In Redis when
//! it is set, so a task
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
    /// Each caller's tasks, oldest first (a task claimed again after its TTL by another caller
    /// is left in the first one's queue, and skipped when it comes up).
    by_caller: HashMap<String, VecDeque<(String, String)>>,
    max: usize,
}

impl MemoryOwners {
    /// Forgets the oldest task of the caller holding the most.
    fn evict_one(&mut self) {
        let Some(heaviest) = self.by_caller.iter().max_by_key(|(_, q)| q.len()).map(|(a, _)| a.clone()) else { return };
        let Some(queue) = self.by_caller.get_mut(&heaviest) else { return };
        while let Some(key) = queue.pop_front() {
            if self.owners.get(&key).is_some_and(|(owner, _)| *owner == heaviest) {
                self.owners.remove(&key);
                break;
            }
        }
        if queue.is_empty() {
            self.by_caller.remove(&heaviest);
        }
    }
}

impl TaskOwners {
    pub fn memory(max: usize) -> Self {
        Self::Memory(Mutex::new(MemoryOwners { owners: HashMap::new(), by_caller: HashMap::new(), max }))
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
                let before = m.owners.insert(key.clone(), (agent.to_string(), Instant::now()));
                if before.is_none_or(|(owner, _)| owner != agent) {
                    m.by_caller.entry(agent.to_string()).or_default().push_back(key);
                }
                while m.owners.len() > m.max {
                    m.evict_one();
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
    async fn a_caller_that_floods_the_store_pushes_out_only_its_own_tasks() {
        let owners = TaskOwners::memory(4);
        let ttl = Duration::from_secs(60);
        owners.claim("echo", "alice-1", "alice", ttl).await.unwrap();
        owners.claim("echo", "bob-1", "bob", ttl).await.unwrap();
        for i in 0..20 {
            owners.claim("echo", &format!("mallory-{i}"), "mallory", ttl).await.unwrap();
        }
        assert_eq!(owners.len(), 4);
        assert!(owners.is_owner("echo", "alice-1", "alice", ttl).await.unwrap());
        assert!(owners.is_owner("echo", "bob-1", "bob", ttl).await.unwrap());
        assert!(owners.is_owner("echo", "mallory-19", "mallory", ttl).await.unwrap(), "the newest are kept");
        assert!(!owners.is_owner("echo", "mallory-0", "mallory", ttl).await.unwrap());
    }

    #[tokio::test]
    async fn an_expired_owner_is_forgotten() {
        let owners = TaskOwners::memory(10);
        owners.claim("echo", "t", "a", Duration::from_secs(60)).await.unwrap();
        assert!(!owners.is_owner("echo", "t", "a", Duration::ZERO).await.unwrap());
        assert!(owners.claim("echo", "t", "b", Duration::ZERO).await.unwrap());
    }
}
