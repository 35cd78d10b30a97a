//! The semantic cache: a question asked again in other words is served the stored answer.
//!
//! Only the last user turn is compared by meaning; everything else that shapes an answer (the
//! model, system prompt, tools, parameters, every earlier turn, the end user when answers are
//! kept per user) must match exactly: it is the *context* digest, and each context of each
//! partition has its own index. A stored question close enough to the new one (cosine of their
//! embeddings at least the threshold) is a candidate; it is served only if the verification
//! step ([`super::verify`]) finds it asks the same thing, and only while its answer is still in
//! the exact store (which owns TTLs, purges and memory): an index entry whose answer is gone is
//! dropped when found.
//!
//! Index: an HNSW graph per context ([`super::hnsw`]), bounded by entries per partition and in
//! all, the oldest going first. With Redis, each replica keeps its own index in step with a
//! Redis stream per partition (`{prefix}cache:{P}:sem`, capped at `partition_max_entries`): a replica
//! that stores a question appends it there, and every replica reads what others appended (at
//! most once a second per partition, a page at a time, within the lookup timeout) before it
//! searches. Redis slow or down leaves the local index as it is: a lookup is never a failed call.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::embed::{Embedder, Vector};
use super::hnsw::Hnsw;
use super::Purge;
use crate::redis_conn::LazyConnection;

/// The similarity a stored question must reach before the verification step reads it.
pub const DEFAULT_THRESHOLD: f32 = 0.55;

/// Candidates compared per lookup at most.
const CANDIDATES: usize = 4;

/// How often a replica reads a partition's stream, and how much at a time.
const SYNC_EVERY: Duration = Duration::from_millis(1000);
const SYNC_PAGE: usize = 512;

/// Where a question lives: its partition, model and context.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    pub partition: String,
    pub model: String,
    pub context: [u8; 32],
}

/// A stored question.
#[derive(Debug, Clone)]
pub struct Question {
    /// The exact key's digest of the call that asked it (where its answer is stored).
    pub digest: [u8; 32],
    pub text: Box<str>,
}

/// A stored question near a new one.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub similarity: f32,
    pub question: Question,
}

struct Slot {
    question: Question,
    seq: u64,
}

struct GroupIndex {
    graph: Hnsw,
    slots: HashMap<u32, Slot>,
    by_digest: HashMap<[u8; 32], u32>,
}

/// Questions in the order they were indexed: group, node, and the node's sequence number then.
type Order = VecDeque<(Arc<Group>, u32, u64)>;

#[derive(Default)]
struct Index {
    groups: HashMap<Arc<Group>, GroupIndex>,
    /// Insertion order, in all and per partition (entries whose seq no longer matches were
    /// removed since; they are skipped, and dropped when a queue holds twice what is live).
    order: Order,
    partition_order: HashMap<String, Order>,
    partition_live: HashMap<String, usize>,
    live: usize,
    /// What the index holds: each live question's text and bookkeeping, and each slot of
    /// every graph, live or kept for reuse (vector and links).
    bytes: usize,
    seq: u64,
}

impl Index {
    fn current(&self, g: &Group, node: u32, seq: u64) -> bool {
        self.groups.get(g).and_then(|gi| gi.slots.get(&node)).is_some_and(|s| s.seq == seq)
    }

    fn remove(&mut self, g: &Arc<Group>, node: u32) {
        let Some(gi) = self.groups.get_mut(g) else { return };
        let Some(slot) = gi.slots.remove(&node) else { return };
        self.bytes -= question_bytes(&slot.question);
        gi.by_digest.remove(&slot.question.digest);
        gi.graph.remove(node);
        self.live -= 1;
        if let Some(n) = self.partition_live.get_mut(&g.partition) {
            *n -= 1;
            if *n == 0 {
                self.partition_live.remove(&g.partition);
                self.partition_order.remove(&g.partition);
            }
        }
        // A graph keeps a removed node's slot for its next insert; its memory goes with the
        // group's last question.
        if gi.slots.is_empty() {
            self.bytes -= gi.graph.slots() * slot_bytes(gi.graph.dim());
            self.groups.remove(g);
        }
    }

    /// Removes the oldest live entry of a queue (the partition's, or all when `None`).
    fn evict_oldest(&mut self, partition: Option<&str>) {
        loop {
            let next = match partition {
                Some(p) => self.partition_order.get_mut(p).and_then(VecDeque::pop_front),
                None => self.order.pop_front(),
            };
            let Some((g, node, seq)) = next else { return };
            if self.current(&g, node, seq) {
                self.remove(&g, node);
                return;
            }
        }
    }

    /// A queue without the entries removed since they were queued.
    fn live_only(&self, queue: Order) -> Order {
        queue.into_iter().filter(|(g, n, s)| self.current(g, *n, *s)).collect()
    }
}

/// The semantic cache of this replica.
pub struct SemanticCache {
    /// A model given at start (a model2vec directory), or the built-in one, loaded on first use.
    embedder: std::sync::OnceLock<Embedder>,
    index: RwLock<Index>,
    max_entries: usize,
    max_bytes: usize,
    partition_max: usize,
    shared: Option<SharedLog>,
}

/// What one indexed question takes besides its graph slot: its text and bookkeeping.
fn question_bytes(q: &Question) -> usize {
    q.text.len() + 100
}

/// What one slot of a graph takes while the graph has it: its vector and links.
fn slot_bytes(dim: usize) -> usize {
    dim + 300
}

impl SemanticCache {
    /// `embedder`: the model to embed with, loaded at start (the built-in one when `None`,
    /// loaded on first use, so a gateway whose semantic cache is off never loads one).
    pub fn new(embedder: Option<Embedder>, max_entries: usize, max_bytes: usize, partition_max: usize, shared: Option<SharedLog>) -> Self {
        let cell = std::sync::OnceLock::new();
        if let Some(e) = embedder {
            let _ = cell.set(e);
        }
        Self { embedder: cell, index: RwLock::default(), max_entries, max_bytes, partition_max: partition_max.min(max_entries), shared }
    }

    fn embedder(&self) -> &Embedder {
        self.embedder.get_or_init(Embedder::builtin)
    }

    /// Which local model embeds questions (part of a question's group).
    pub fn local_model(&self) -> &str {
        &self.embedder().name
    }

    /// The question's vector (`None` if no model could be loaded).
    pub fn embed(&self, text: &str) -> Option<Vector> {
        Some(self.embedder().embed(text))
    }

    /// Questions stored in this replica's index.
    pub fn len(&self) -> usize {
        self.read().live
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stored questions of `group` at least `threshold` similar to `v`, most similar first
    /// (after reading what other replicas stored, when shared, within `timeout`).
    pub async fn candidates(&self, group: &Group, v: &[i8], threshold: f32, timeout: Duration) -> Vec<Candidate> {
        if let Some(shared) = &self.shared {
            if let Ok(Some(read)) = tokio::time::timeout(timeout, shared.read_due(&group.partition)).await {
                for (g, q, vector) in read {
                    self.insert(g, q, &vector);
                }
            }
        }
        self.search(group, v, threshold)
    }

    /// Stored questions of `group` at least `threshold` similar to `v` in this replica's index.
    pub fn search(&self, group: &Group, v: &[i8], threshold: f32) -> Vec<Candidate> {
        let index = self.read();
        let Some(gi) = index.groups.get(group).filter(|gi| gi.graph.dim() == v.len()) else { return Vec::new() };
        gi.graph
            .search(v, CANDIDATES)
            .into_iter()
            .filter(|(s, _)| *s >= threshold)
            .filter_map(|(similarity, node)| gi.slots.get(&node).map(|slot| Candidate { similarity, question: slot.question.clone() }))
            .collect()
    }

    /// Drops a stored question whose answer is gone.
    pub fn forget(&self, group: &Group, digest: &[u8; 32]) {
        let mut index = self.write();
        let Some((g, node)) = index.groups.get_key_value(group).and_then(|(g, gi)| gi.by_digest.get(digest).map(|n| (Arc::clone(g), *n))) else { return };
        index.remove(&g, node);
    }

    /// Stores a question (its answer was just stored under `question.digest`), here and, when
    /// shared, for the other replicas.
    pub async fn add(&self, group: Group, question: Question, v: Vector, ttl: Duration, timeout: Duration) {
        self.share(&group, &question, &v, ttl, timeout).await;
        self.insert(group, question, &v);
    }

    /// Appends a question for the other replicas (when shared).
    pub async fn share(&self, group: &Group, question: &Question, v: &[i8], ttl: Duration, timeout: Duration) {
        if let Some(shared) = &self.shared {
            if tokio::time::timeout(timeout, shared.append(group, question, v, ttl, self.partition_max)).await.is_err() {
                tracing::warn!("semantic cache: Redis did not take a question in time; other replicas will not find it");
            }
        }
    }

    /// Indexes a question here (a question already indexed under its digest is left as is).
    pub fn insert(&self, group: Group, question: Question, v: &[i8]) {
        let mut index = self.write();
        let index = &mut *index;
        // Already indexed; or indexed with vectors of another model (the model was changed):
        // not comparable, not mixed.
        if index.groups.get(&group).is_some_and(|gi| gi.by_digest.contains_key(&question.digest) || gi.graph.dim() != v.len()) {
            return;
        }
        if index.partition_live.get(&group.partition).copied().unwrap_or(0) >= self.partition_max {
            index.evict_oldest(Some(&group.partition));
        }
        if index.live >= self.max_entries {
            index.evict_oldest(None);
        }
        // (At most: a graph with a slot kept for reuse takes no new one.)
        let size = question_bytes(&question) + slot_bytes(v.len());
        if size > self.max_bytes {
            return;
        }
        while index.bytes + size > self.max_bytes && index.live > 0 {
            index.evict_oldest(None);
        }
        let g = match index.groups.get_key_value(&group) {
            Some((g, _)) => Arc::clone(g),
            None => Arc::new(group),
        };
        let gi = index.groups.entry(Arc::clone(&g)).or_insert_with(|| GroupIndex { graph: Hnsw::new(v.len()), slots: HashMap::new(), by_digest: HashMap::new() });
        index.seq += 1;
        let seq = index.seq;
        let slots = gi.graph.slots();
        let node = gi.graph.insert(v);
        let grown = (gi.graph.slots() - slots) * slot_bytes(v.len());
        index.bytes += question_bytes(&question) + grown;
        gi.by_digest.insert(question.digest, node);
        gi.slots.insert(node, Slot { question, seq });
        index.live += 1;
        *index.partition_live.entry(g.partition.clone()).or_default() += 1;
        let queue = index.partition_order.entry(g.partition.clone()).or_default();
        queue.push_back((Arc::clone(&g), node, seq));
        if queue.len() > 2 * self.partition_max + 64 {
            let q = std::mem::take(queue);
            let kept = index.live_only(q);
            index.partition_order.insert(g.partition.clone(), kept);
        }
        index.order.push_back((g, node, seq));
        if index.order.len() > 2 * index.live + 64 {
            let q = std::mem::take(&mut index.order);
            index.order = index.live_only(q);
        }
    }

    /// Removes the matching questions from this replica's index and, when shared, the
    /// partitions' streams (other replicas drop theirs as they find the answers gone).
    pub async fn purge(&self, what: &Purge) {
        {
            let mut index = self.write();
            let doomed: Vec<(Arc<Group>, Vec<u32>)> = index
                .groups
                .iter()
                .filter(|(g, _)| what.partition.as_ref().is_none_or(|p| *p == g.partition) && what.model.as_ref().is_none_or(|m| *m == g.model))
                .map(|(g, gi)| (Arc::clone(g), gi.slots.keys().copied().collect()))
                .collect();
            for (g, nodes) in doomed {
                for n in nodes {
                    index.remove(&g, n);
                }
            }
        }
        if let (Some(shared), None) = (&self.shared, &what.model) {
            if let Err(e) = shared.purge(what.partition.as_deref()).await {
                tracing::warn!(error = %e, "semantic cache: Redis did not purge the questions' streams");
            }
        }
    }
}

/// Questions of every replica, in Redis streams.
pub struct SharedLog {
    conn: LazyConnection,
    prefix: String,
    /// Per partition: the last entry read and when.
    read: Mutex<HashMap<String, (String, Instant)>>,
}

impl SharedLog {
    pub fn new(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Ok(Self { conn: LazyConnection::new(url, Duration::from_millis(500), Duration::from_millis(500))?, prefix: prefix.to_string(), read: Mutex::default() })
    }

    fn stream(&self, partition: &str) -> String {
        format!("{}cache:{{{}}}:sem", self.prefix, super::redis::tag(partition))
    }

    async fn append(&self, group: &Group, q: &Question, v: &[i8], ttl: Duration, cap: usize) {
        let run = async {
            let mut c = self.conn.get().await?;
            let key = self.stream(&group.partition);
            let bytes: Vec<u8> = v.iter().map(|&x| x as u8).collect();
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut p = redis::pipe();
            // Trimmed exactly: the stream never holds more than the partition may.
            p.cmd("XADD").arg(&key).arg("MAXLEN").arg(cap).arg("*");
            p.arg("p").arg(&group.partition).arg("m").arg(&group.model).arg("c").arg(&group.context[..]).arg("d").arg(&q.digest[..]).arg("t").arg(&*q.text).arg("v").arg(bytes).ignore();
            // The stream lives as long as its longest-lived answer.
            p.cmd("PEXPIRE").arg(&key).arg(ttl_ms).arg("NX").ignore();
            p.cmd("PEXPIRE").arg(&key).arg(ttl_ms).arg("GT").ignore();
            p.query_async::<()>(&mut c).await
        };
        if let Err(e) = run.await {
            tracing::warn!(error = %e, "semantic cache: Redis did not take a question; other replicas will not find it");
        }
    }

    /// What other replicas stored in a partition since this one last read, if a read is due
    /// (`None` when not, or when Redis failed).
    async fn read_due(&self, partition: &str) -> Option<Vec<(Group, Question, Vector)>> {
        let from = {
            let mut read = self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let from = match read.get(partition) {
                Some((_, at)) if at.elapsed() < SYNC_EVERY => return None,
                Some((last, _)) => format!("({last}"),
                None => "-".to_string(),
            };
            // The attempt counts as the read: concurrent lookups, and lookups after a failed
            // read, wait their second too.
            let last = read.get(partition).map_or_else(|| "0-0".to_string(), |(l, _)| l.clone());
            read.insert(partition.to_string(), (last, Instant::now()));
            from
        };
        let run = async {
            let mut c = self.conn.get().await?;
            redis::cmd("XRANGE").arg(self.stream(partition)).arg(&from).arg("+").arg("COUNT").arg(SYNC_PAGE).query_async::<Vec<(String, Vec<Vec<u8>>)>>(&mut c).await
        };
        let entries = match run.await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "semantic cache: Redis read failed; searching this replica's index as it is");
                return None;
            }
        };
        let full_page = entries.len() == SYNC_PAGE;
        let last = entries.last().map(|(id, _)| id.clone());
        let out = entries.into_iter().filter_map(|(_, fields)| decode(&fields)).collect();
        let mut read = self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = last.or_else(|| read.get(partition).map(|(l, _)| l.clone())).unwrap_or_else(|| "0-0".into());
        // A full page: more is waiting; the next lookup reads on.
        let at = if full_page { Instant::now().checked_sub(SYNC_EVERY).unwrap_or_else(Instant::now) } else { Instant::now() };
        read.insert(partition.to_string(), (last, at));
        Some(out)
    }

    async fn purge(&self, partition: Option<&str>) -> redis::RedisResult<()> {
        let mut c = self.conn.get().await?;
        match partition {
            Some(p) => redis::cmd("DEL").arg(self.stream(p)).query_async::<()>(&mut c).await,
            None => {
                let pattern = format!("{}cache:{{*}}:sem", super::redis::glob_escape(&self.prefix));
                let mut cursor: u64 = 0;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000).query_async(&mut c).await?;
                    if !keys.is_empty() {
                        redis::cmd("DEL").arg(&keys).query_async::<()>(&mut c).await?;
                    }
                    cursor = next;
                    if cursor == 0 {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// A stream entry's fields: `p`, `m`, `c`, `d`, `t`, `v` (an entry missing one, or of another
/// vector size, is skipped).
fn decode(fields: &[Vec<u8>]) -> Option<(Group, Question, Vector)> {
    let get = |name: &[u8]| fields.chunks_exact(2).find(|kv| kv[0] == name).map(|kv| kv[1].as_slice());
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    let partition = text(get(b"p")?)?;
    let model = text(get(b"m")?)?;
    let context: [u8; 32] = get(b"c")?.try_into().ok()?;
    let digest: [u8; 32] = get(b"d")?.try_into().ok()?;
    let question = text(get(b"t")?)?;
    let v: Vector = get(b"v")?.iter().map(|&b| b as i8).collect();
    (!v.is_empty()).then(|| (Group { partition, model, context }, Question { digest, text: question.into() }, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(p: &str, c: u8) -> Group {
        Group { partition: p.into(), model: "m".into(), context: [c; 32] }
    }

    fn q(d: u8, text: &str) -> Question {
        Question { digest: [d; 32], text: text.into() }
    }

    #[test]
    fn a_question_is_found_only_in_its_own_partition_and_context() {
        let s = SemanticCache::new(None, 100, 1 << 20, 10, None);
        let v = s.embed("How do I reset my password?").unwrap();
        s.insert(group("agent:a", 1), q(1, "How do I reset my password?"), &v);
        let near = s.embed("What are the steps to reset my password?").unwrap();
        let found = s.search(&group("agent:a", 1), &near, DEFAULT_THRESHOLD);
        assert_eq!(found.len(), 1);
        assert!(found[0].similarity > 0.9 && found[0].question.digest == [1; 32]);
        assert!(s.search(&group("agent:b", 1), &near, DEFAULT_THRESHOLD).is_empty(), "another partition");
        assert!(s.search(&group("agent:a", 2), &near, DEFAULT_THRESHOLD).is_empty(), "another context");
        let far = s.embed("Write a haiku about autumn").unwrap();
        assert!(s.search(&group("agent:a", 1), &far, DEFAULT_THRESHOLD).is_empty(), "below the threshold");
        s.forget(&group("agent:a", 1), &[1; 32]);
        assert!(s.search(&group("agent:a", 1), &near, DEFAULT_THRESHOLD).is_empty() && s.is_empty());
    }

    #[test]
    fn the_index_holds_at_most_its_bounds_oldest_out_first() {
        let s = SemanticCache::new(None, 25, 1 << 20, 10, None);
        let texts: Vec<String> = (0..40).map(|i| format!("question number {i} about topic {}", i * 7)).collect();
        for (i, t) in texts.iter().enumerate() {
            let v = s.embed(t).unwrap();
            s.insert(group(if i % 2 == 0 { "agent:a" } else { "agent:b" }, 1), q(i as u8, t), &v);
        }
        // 10 per partition, two partitions.
        assert_eq!(s.len(), 20);
        let newest = s.embed(&texts[38]).unwrap();
        assert!(s.search(&group("agent:a", 1), &newest, 0.99).iter().any(|c| c.question.digest == [38; 32]));
        let oldest = s.embed(&texts[0]).unwrap();
        assert!(!s.search(&group("agent:a", 1), &oldest, 0.0).iter().any(|c| c.question.digest == [0; 32]), "the oldest went first");
        // In all: a third partition pushes the oldest of any out.
        for i in 0..10u8 {
            let t = format!("third partition question {i}");
            s.insert(group("agent:c", 1), q(100 + i, &t), &s.embed(&t).unwrap());
        }
        assert_eq!(s.len(), 25);
        // The same question again is not indexed twice.
        s.insert(group("agent:c", 1), q(109, "third partition question 9"), &s.embed("third partition question 9").unwrap());
        assert_eq!(s.len(), 25);
    }

    /// What `bytes` should be: every live question's, and every slot of every graph.
    fn counted(s: &SemanticCache) -> usize {
        let index = s.read();
        index.groups.values().map(|gi| gi.slots.values().map(|slot| question_bytes(&slot.question)).sum::<usize>() + gi.graph.slots() * slot_bytes(gi.graph.dim())).sum()
    }

    #[test]
    fn slots_kept_for_reuse_count_towards_the_bytes() {
        // A group grown to 40 questions, then emptied but for its newest by questions of other
        // groups: its 40 slots stay with it, and are counted, so the bound holds in memory too.
        let bound = 40 * (20 + 100 + 256 + 300) + 500;
        let s = SemanticCache::new(None, 1000, bound, 1000, None);
        for i in 0..40u8 {
            let t = format!("first group question {i:02}");
            s.insert(group("agent:a", 1), q(i, &t), &s.embed(&t).unwrap());
        }
        assert_eq!(s.read().bytes, counted(&s));
        for i in 0..60u8 {
            let t = format!("other question {i:02} here");
            s.insert(group("agent:b", i), q(100 + i, &t), &s.embed(&t).unwrap());
            assert_eq!(s.read().bytes, counted(&s), "after insert {i}");
            assert!(counted(&s) <= bound, "after insert {i}: {} held", counted(&s));
        }
        // The first group went whole (its slots with its last question), not question by
        // question leaving 39 slots held for one.
        assert!(s.read().groups.keys().all(|g| g.partition != "agent:a"), "{} groups", s.read().groups.len());
    }

    #[test]
    fn the_index_holds_at_most_its_bytes() {
        // Each question here takes 2,000 + 100 + 256 + 300 bytes: 10,000 bytes hold three.
        let s = SemanticCache::new(None, 100, 10_000, 100, None);
        for i in 0..6u8 {
            let text = format!("{} {i}", "long question ".repeat(143));
            s.insert(group("agent:a", 1), q(i, &text[..2000]), &s.embed(&text).unwrap());
        }
        assert_eq!(s.len(), 3);
        assert!(s.read().bytes <= 10_000);
        assert_eq!(s.read().bytes, counted(&s));
        // One that could never fit is not indexed.
        s.insert(group("agent:a", 1), q(99, &"x".repeat(20_000)), &s.embed("x").unwrap());
        assert_eq!(s.len(), 3);
    }

    #[tokio::test]
    async fn a_purge_removes_the_matching_questions() {
        let s = SemanticCache::new(None, 100, 1 << 20, 100, None);
        for (p, m) in [("agent:a", "m"), ("agent:a", "n"), ("agent:b", "m")] {
            let g = Group { partition: p.into(), model: m.into(), context: [0; 32] };
            s.insert(g, q(1, "hello there"), &s.embed("hello there").unwrap());
        }
        s.purge(&Purge { partition: Some("agent:a".into()), model: Some("m".into()) }).await;
        assert_eq!(s.len(), 2);
        s.purge(&Purge { partition: None, model: None }).await;
        assert!(s.is_empty());
    }

    #[test]
    fn stream_entries_decode_and_bad_ones_are_skipped() {
        let fields = |v: Vec<u8>| vec![b"p".to_vec(), b"agent:a".to_vec(), b"m".to_vec(), b"m".to_vec(), b"c".to_vec(), vec![1; 32], b"d".to_vec(), vec![2; 32], b"t".to_vec(), b"hi".to_vec(), b"v".to_vec(), v];
        let (g, q, v) = decode(&fields(vec![255, 1])).unwrap();
        assert_eq!((g.partition.as_str(), g.context, q.digest, &*q.text, &v[..]), ("agent:a", [1; 32], [2; 32], "hi", &[-1i8, 1][..]));
        assert!(decode(&fields(Vec::new())).is_none());
        assert!(decode(&fields(vec![1])[..10]).is_none());
    }
}
