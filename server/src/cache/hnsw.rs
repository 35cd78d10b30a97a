//! A small HNSW graph (hierarchical navigable small world) over int8 unit vectors: the semantic
//! cache finds the stored questions nearest a new one in tens of microseconds among 100,000,
//! where comparing with each would take milliseconds.
//!
//! Nodes are never unlinked: a removed node stays in the graph as a waypoint (searches pass
//! through it but never return it) and its slot is reused by the next insert, which links the
//! new vector afresh. So memory is bounded by the most nodes ever held at once (and the graph's
//! entry node, whose slot is kept), and removal is O(1). Links that still point at a reused slot lead to an unrelated vector: a detour for a
//! search, never a wrong result (every result is scored against the query).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::embed::similarity;

/// Links per node above the bottom layer, and at the bottom.
const M: usize = 16;
const M0: usize = 2 * M;
/// Candidates kept while linking a new node, and while searching.
const EF_CONSTRUCTION: usize = 64;
const EF_SEARCH: usize = 32;
const MAX_LEVEL: usize = 12;

/// A similarity that orders (vectors are unit length: similarities are finite).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f32);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

pub struct Hnsw {
    dim: usize,
    vectors: Vec<i8>,
    /// Per node, per layer (0 = bottom), its neighbours.
    links: Vec<Vec<Vec<u32>>>,
    alive: Vec<bool>,
    free: Vec<u32>,
    live: usize,
    entry: Option<u32>,
    rng: u64,
}

thread_local! {
    /// Nodes seen by the current search: a stamp per node, so clearing is one increment.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

impl Hnsw {
    pub fn new(dim: usize) -> Self {
        Self { dim, vectors: Vec::new(), links: Vec::new(), alive: Vec::new(), free: Vec::new(), live: 0, entry: None, rng: 0x9E37_79B9_7F4A_7C15 }
    }

    /// The vectors' length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Nodes that searches can return.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Slots held, live or waiting for reuse (what the memory is proportional to).
    pub fn slots(&self) -> usize {
        self.alive.len()
    }

    fn vector(&self, n: u32) -> &[i8] {
        &self.vectors[n as usize * self.dim..(n as usize + 1) * self.dim]
    }

    fn level(&mut self) -> usize {
        // xorshift; the level is geometric with ratio 1/M.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let u = ((self.rng >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() / (M as f64).ln()) as usize).min(MAX_LEVEL)
    }

    /// Adds a vector; returns its node.
    pub fn insert(&mut self, v: &[i8]) -> u32 {
        debug_assert_eq!(v.len(), self.dim);
        let level = self.level();
        // A reused slot takes the new node's own layers (links into layers it no longer has are
        // read through `get` and lead nowhere); the entry's slot is never reused (it would
        // move the graph's top).
        let node = match self.free.pop() {
            Some(n) => {
                self.vectors[n as usize * self.dim..(n as usize + 1) * self.dim].copy_from_slice(v);
                self.links[n as usize].clear();
                self.links[n as usize].resize(level + 1, Vec::new());
                self.alive[n as usize] = true;
                n
            }
            None => {
                let n = u32::try_from(self.alive.len()).unwrap_or(u32::MAX);
                self.vectors.extend_from_slice(v);
                self.links.push(vec![Vec::new(); level + 1]);
                self.alive.push(true);
                n
            }
        };
        self.live += 1;
        let Some(entry) = self.entry else {
            self.entry = Some(node);
            return node;
        };
        let top = self.links[entry as usize].len() - 1;
        let mut ep = entry;
        for layer in (level + 1..=top).rev() {
            ep = self.greedy(v, ep, layer);
        }
        for layer in (0..=level.min(top)).rev() {
            let found = self.search_layer(v, ep, EF_CONSTRUCTION, layer, false);
            let cap = if layer == 0 { M0 } else { M };
            // Never the node itself (old links into a reused slot find it): it has no links yet.
            let chosen: Vec<u32> = found.iter().filter(|(_, n)| *n != node).take(M).map(|(_, n)| *n).collect();
            ep = chosen.first().copied().unwrap_or(ep);
            for &n in &chosen {
                let links = &mut self.links[n as usize];
                if links.len() <= layer {
                    continue;
                }
                links[layer].push(node);
                if links[layer].len() > cap {
                    self.prune(n, layer, cap);
                }
            }
            self.links[node as usize][layer] = chosen;
        }
        if level > top {
            self.entry = Some(node);
        }
        node
    }

    /// Keeps a node's `cap` nearest neighbours on a layer.
    fn prune(&mut self, n: u32, layer: usize, cap: usize) {
        let base = self.vector(n).to_vec();
        let mut scored: Vec<(Score, u32)> = self.links[n as usize][layer].iter().map(|&m| (Score(similarity(&base, self.vector(m))), m)).collect();
        scored.sort_unstable_by_key(|s| Reverse(s.0));
        scored.truncate(cap);
        self.links[n as usize][layer] = scored.into_iter().map(|(_, m)| m).collect();
    }

    /// Marks a node removed; its slot is reused by a later insert.
    pub fn remove(&mut self, n: u32) {
        if self.alive.get(n as usize) == Some(&true) {
            self.alive[n as usize] = false;
            self.live -= 1;
            if Some(n) != self.entry {
                self.free.push(n);
            }
        }
    }

    /// Up to `k` live nodes nearest `q` with their similarities, nearest first.
    pub fn search(&self, q: &[i8], k: usize) -> Vec<(f32, u32)> {
        let Some(entry) = self.entry else { return Vec::new() };
        let mut ep = entry;
        for layer in (1..self.links[entry as usize].len()).rev() {
            ep = self.greedy(q, ep, layer);
        }
        self.search_layer(q, ep, EF_SEARCH.max(k), 0, true).into_iter().take(k).map(|(s, n)| (s.0, n)).collect()
    }

    /// The nearest node to `q` reachable greedily on a layer from `ep`.
    fn greedy(&self, q: &[i8], mut ep: u32, layer: usize) -> u32 {
        let mut best = similarity(q, self.vector(ep));
        loop {
            let mut moved = false;
            for &n in self.links[ep as usize].get(layer).map_or(&[][..], Vec::as_slice) {
                let s = similarity(q, self.vector(n));
                if s > best {
                    best = s;
                    ep = n;
                    moved = true;
                }
            }
            if !moved {
                return ep;
            }
        }
    }

    /// The `ef` nodes nearest `q` found on a layer from `ep`, nearest first (only live ones
    /// when `live_only`; removed ones are still walked through).
    fn search_layer(&self, q: &[i8], ep: u32, ef: usize, layer: usize, live_only: bool) -> Vec<(Score, u32)> {
        VISITED.with_borrow_mut(|(stamps, epoch)| {
            if stamps.len() < self.alive.len() {
                stamps.resize(self.alive.len(), 0);
            }
            *epoch = epoch.wrapping_add(1);
            if *epoch == 0 {
                stamps.iter_mut().for_each(|s| *s = 0);
                *epoch = 1;
            }
            let epoch = *epoch;
            let keep = |n: u32| !live_only || self.alive[n as usize];
            let s0 = Score(similarity(q, self.vector(ep)));
            stamps[ep as usize] = epoch;
            // Candidates to expand, best first; results, worst first (to drop the worst).
            let mut candidates = BinaryHeap::from([(s0, ep)]);
            let mut results: BinaryHeap<Reverse<(Score, u32)>> = BinaryHeap::new();
            // The walk's frontier bound counts every node seen; results hold only those kept.
            let mut bound: BinaryHeap<Reverse<Score>> = BinaryHeap::from([Reverse(s0)]);
            if keep(ep) {
                results.push(Reverse((s0, ep)));
            }
            while let Some((s, n)) = candidates.pop() {
                if bound.len() >= ef && bound.peek().is_some_and(|Reverse(w)| s < *w) {
                    break;
                }
                for &m in self.links[n as usize].get(layer).map_or(&[][..], Vec::as_slice) {
                    if stamps[m as usize] == epoch {
                        continue;
                    }
                    stamps[m as usize] = epoch;
                    let sm = Score(similarity(q, self.vector(m)));
                    if bound.len() < ef || bound.peek().is_some_and(|Reverse(w)| sm > *w) {
                        candidates.push((sm, m));
                        bound.push(Reverse(sm));
                        if bound.len() > ef {
                            bound.pop();
                        }
                        if keep(m) {
                            results.push(Reverse((sm, m)));
                            if results.len() > ef {
                                results.pop();
                            }
                        }
                    }
                }
            }
            let mut out: Vec<(Score, u32)> = results.into_iter().map(|Reverse(x)| x).collect();
            out.sort_unstable_by_key(|s| Reverse(s.0));
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::embed::quantise;

    fn random_unit(seed: &mut u64, dim: usize) -> Vec<i8> {
        let v: Vec<f32> = (0..dim)
            .map(|_| {
                *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        quantise(&v.iter().map(|x| x / norm).collect::<Vec<_>>()).into_vec()
    }

    fn exact(vs: &[Vec<i8>], alive: &[bool], q: &[i8]) -> Option<u32> {
        (0..vs.len()).filter(|&i| alive[i]).max_by(|&a, &b| similarity(q, &vs[a]).total_cmp(&similarity(q, &vs[b]))).map(|i| i as u32)
    }

    #[test]
    fn finds_the_nearest_as_a_full_scan_does() {
        let mut seed = 7;
        let dim = 64;
        let mut h = Hnsw::new(dim);
        let vs: Vec<Vec<i8>> = (0..3000).map(|_| random_unit(&mut seed, dim)).collect();
        for v in &vs {
            h.insert(v);
        }
        let alive = vec![true; vs.len()];
        let mut agree = 0;
        for i in (0..vs.len()).step_by(30) {
            // A query near a stored vector: the stored one must come first.
            let q: Vec<i8> = vs[i].iter().map(|&x| x.saturating_add(3)).collect();
            agree += usize::from(h.search(&q, 1).first().map(|r| r.1) == exact(&vs, &alive, &q));
        }
        assert!(agree >= 98, "{agree} of 100 agree with a full scan");
    }

    #[test]
    fn removed_nodes_are_never_returned_and_their_slots_are_reused() {
        let mut seed = 11;
        let dim = 32;
        let mut h = Hnsw::new(dim);
        let vs: Vec<Vec<i8>> = (0..500).map(|_| random_unit(&mut seed, dim)).collect();
        let nodes: Vec<u32> = vs.iter().map(|v| h.insert(v)).collect();
        for &n in nodes.iter().step_by(2) {
            h.remove(n);
        }
        assert_eq!(h.len(), 250);
        for (i, v) in vs.iter().enumerate().step_by(2) {
            let found = h.search(v, 5);
            assert!(!found.is_empty() && found.iter().all(|(_, n)| n % 2 == 1), "a removed node came back for {i}: {found:?}");
        }
        // Reinserting takes freed slots: the slots do not grow past the most held at once
        // (but for the graph's entry, whose slot is kept).
        for v in vs.iter().step_by(2).skip(1) {
            h.insert(v);
        }
        assert!(h.slots() <= 501, "{}", h.slots());
        assert_eq!(h.len(), 499);
        let v = &vs[2];
        assert!(h.search(v, 1)[0].0 > 0.99, "a reinserted vector is found");
    }

    #[test]
    fn recall_holds_after_the_graph_turns_over_several_times() {
        // As the semantic index at its bound: the oldest out, a new one in, many times over.
        let mut seed = 5;
        let dim = 32;
        let cap = 600;
        let mut h = Hnsw::new(dim);
        let mut held: std::collections::VecDeque<(u32, Vec<i8>)> = std::collections::VecDeque::new();
        for _ in 0..cap * 4 {
            if held.len() == cap {
                let (n, _) = held.pop_front().unwrap();
                h.remove(n);
            }
            let v = random_unit(&mut seed, dim);
            held.push_back((h.insert(&v), v));
        }
        assert!(h.slots() <= cap + 1);
        let found = held.iter().step_by(6).filter(|(n, v)| h.search(v, 1).first().map(|r| r.1) == Some(*n)).count();
        assert!(found >= 98, "{found} of 100 stored vectors are found as their own nearest");
    }

    #[test]
    fn an_empty_graph_finds_nothing() {
        let h = Hnsw::new(8);
        assert!(h.search(&[0; 8], 3).is_empty() && h.is_empty());
    }
}
