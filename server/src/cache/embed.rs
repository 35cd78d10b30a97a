//! Sentence embeddings for the semantic cache: the built-in potion-base-8M static model (in the
//! binary, int8, loaded on first use), or a model2vec model directory named in the config.
//!
//! A static model embeds a prompt by averaging its tokens' vectors: about a microsecond for a
//! typical prompt, no network, no thread pool. Vectors are unit length; the index keeps them as
//! int8 (see [`Vector`]).

use std::sync::{Arc, OnceLock};

use model2vec_rs::model::StaticModel;

/// The built-in model's files (see `server/models/potion-base-8M/PROVENANCE.md`).
const BUILTIN_TOKENIZER: &[u8] = include_bytes!("../../models/potion-base-8M/tokenizer.json");
const BUILTIN_MODEL: &[u8] = include_bytes!("../../models/potion-base-8M/model.safetensors");
const BUILTIN_CONFIG: &[u8] = include_bytes!("../../models/potion-base-8M/config.json");

/// A unit vector quantised to int8 (each component × 127): a quarter of the memory of f32,
/// and a dot product in integers. Similarities computed from these are within 0.01 of the
/// float model's.
pub type Vector = Box<[i8]>;

/// The dot product of two quantised unit vectors, as a cosine similarity in [-1, 1].
#[inline]
pub fn similarity(a: &[i8], b: &[i8]) -> f32 {
    // In i32 lanes, in chunks the compiler vectorises.
    let mut acc = [0i32; LANES];
    let (ca, ra) = a.as_chunks::<LANES>();
    let (cb, rb) = b.as_chunks::<LANES>();
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..LANES {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let mut sum: i32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += i32::from(*x) * i32::from(*y);
    }
    sum as f32 / (127.0 * 127.0)
}

const LANES: usize = 32;

/// Quantises a unit vector.
pub fn quantise(v: &[f32]) -> Vector {
    v.iter().map(|x| (x * 127.0).round().clamp(-127.0, 127.0) as i8).collect()
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{dir}: not a model2vec model: {reason}")]
    Load { dir: String, reason: String },
}

/// An embedding model.
#[derive(Clone)]
pub struct Embedder {
    model: Arc<StaticModel>,
    /// Whether words are spelt right first (by the built-in model's vocabulary; see
    /// [`respelt`]).
    respell: bool,
    /// What it is, for logs and the README's figures.
    pub name: String,
}

impl Embedder {
    /// The built-in potion-base-8M (parsed once per process, on first use).
    pub fn builtin() -> Self {
        static MODEL: OnceLock<Arc<StaticModel>> = OnceLock::new();
        #[expect(clippy::expect_used, reason = "the model's files are in the binary, checked by its tests")]
        let load = || Arc::new(StaticModel::from_bytes(BUILTIN_TOKENIZER, BUILTIN_MODEL, BUILTIN_CONFIG, Some(true)).expect("the built-in embedding model is part of the binary"));
        let model = MODEL.get_or_init(load);
        Self { model: Arc::clone(model), respell: true, name: "potion-base-8M (built in)".into() }
    }

    /// A model2vec model directory (`tokenizer.json`, `model.safetensors`, `config.json`).
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, EmbedError> {
        let model = StaticModel::from_pretrained(dir, None, Some(true), None).map_err(|e| EmbedError::Load { dir: dir.display().to_string(), reason: format!("{e:#}") })?;
        Ok(Self { model: Arc::new(model), respell: false, name: dir.display().to_string() })
    }

    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// The unit vector of a text, quantised.
    pub fn embed(&self, text: &str) -> Vector {
        // Its first 512 tokens: a longer question is compared by its start (the verification
        // step reads all of it).
        match self.respell.then(|| respelt(text)).flatten() {
            Some(text) => quantise(&self.model.encode_single(&text)),
            None => quantise(&self.model.encode_single(text)),
        }
    }
}

/// FNV-1a: a fast hash for short words in fixed tables (no input chosen by a client can make a
/// fixed table slow: its contents are known).
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A table of words hashed with [`Fnv`].
pub type WordMap<V> = std::collections::HashMap<String, V, std::hash::BuildHasherDefault<Fnv>>;

/// How much a word says, by the built-in model: the length of its token's vector (the model
/// weighs tokens by rarity, so "the" is near 0, "plan" about 60, "rice" about 96). A word the
/// vocabulary holds only in pieces is rare: `None`.
pub fn salience(word: &str) -> Option<f32> {
    let (vocab, norms) = builtin_vocab();
    vocab.get(word).and_then(|&id| norms.get(id as usize)).copied()
}

/// The built-in model's whole-word tokens and each token's vector length.
fn builtin_vocab() -> &'static (WordMap<u32>, Vec<f32>) {
    static TABLE: OnceLock<(WordMap<u32>, Vec<f32>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct Tokenizer {
            model: Vocab,
        }
        #[derive(serde::Deserialize)]
        struct Vocab {
            vocab: WordMap<u32>,
        }
        let vocab = serde_json::from_slice::<Tokenizer>(BUILTIN_TOKENIZER).map(|t| t.model.vocab).unwrap_or_default();
        (vocab, builtin_row_norms())
    })
}

/// The word of the built-in vocabulary a word it lacks is a misspelling of (`word`: lower-case
/// ASCII letters): one letter away (dropped, added, changed, or two neighbours swapped), the
/// commonest of several (the model weighs common words least). Short words are left as they
/// are: one letter from a short word is as often another word ("cals", "tbsp" are
/// abbreviations).
pub fn respell(word: &str) -> Option<&'static str> {
    if !(MIN_RESPELT..=MAX_RESPELT_LEN).contains(&word.len()) || !word.bytes().all(|b| b.is_ascii_lowercase()) || salience(word).is_some() {
        return None;
    }
    nearest(word)
}

/// [`respell`] for a word already known to be lower-case letters of a length respelt, and not in
/// the vocabulary.
fn nearest(word: &str) -> Option<&'static str> {
    let speller = speller();
    let mut best: Option<(f32, &'static str)> = None;
    let mut look = |variant: &[u8]| {
        let key = fnv(variant);
        let from = speller.keys.partition_point(|(k, _)| *k < key);
        for &(_, id) in speller.keys[from..].iter().take_while(|(k, _)| *k == key) {
            let (candidate, weight) = speller.words[id as usize];
            if edit(word.as_bytes(), candidate.as_bytes()).is_some() && best.is_none_or(|(w, _)| weight < w) {
                best = Some((weight, candidate));
            }
        }
    };
    // A word of the vocabulary less one letter is this word (a letter dropped), or this word
    // less one letter (added), or both less one letter at the same place (changed, swapped).
    let w = word.as_bytes();
    look(w);
    let mut buf = Vec::with_capacity(w.len());
    for at in 0..w.len() {
        buf.clear();
        buf.extend_from_slice(&w[..at]);
        buf.extend_from_slice(&w[at + 1..]);
        look(&buf);
    }
    best.map(|(_, w)| w)
}

/// The longest word respelt.
const MAX_RESPELT_LEN: usize = 20;

/// The built-in vocabulary's words of letters, with each word and each way of dropping one of its
/// letters keyed by hash (sorted): the words one letter from a given word are found in as many
/// searches as it has letters, and its vocabulary takes a few megabytes.
struct Speller {
    words: Vec<(&'static str, f32)>,
    keys: Vec<(u64, u32)>,
}

fn speller() -> &'static Speller {
    static SPELLER: OnceLock<Speller> = OnceLock::new();
    SPELLER.get_or_init(|| {
        let (vocab, norms) = builtin_vocab();
        let mut words: Vec<(&'static str, f32)> = vocab
            .iter()
            .filter(|(w, _)| (MIN_RESPELT - 1..=MAX_RESPELT_LEN + 1).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()))
            .map(|(w, &id)| (w.as_str(), norms.get(id as usize).copied().unwrap_or(f32::MAX)))
            .collect();
        words.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut keys = Vec::new();
        let mut buf = Vec::new();
        for (id, (w, _)) in words.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let w = w.as_bytes();
            keys.push((fnv(w), id));
            for at in 0..w.len() {
                buf.clear();
                buf.extend_from_slice(&w[..at]);
                buf.extend_from_slice(&w[at + 1..]);
                keys.push((fnv(&buf), id));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        Speller { words, keys }
    })
}

fn fnv(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = Fnv::default();
    h.write(bytes);
    h.finish()
}

/// The one edit that makes one word of another, if one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// A letter dropped or added.
    Dropped,
    /// A letter changed.
    Changed,
    /// Two neighbours swapped.
    Swapped,
}

/// The one edit between two words (bytes), if they are one edit apart.
pub fn edit(a: &[u8], b: &[u8]) -> Option<Edit> {
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal if ra.is_empty() => None,
        std::cmp::Ordering::Equal if ra[1..] == rb[1..] => Some(Edit::Changed),
        std::cmp::Ordering::Equal => (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..]).then_some(Edit::Swapped),
        std::cmp::Ordering::Greater => (ra.len() == rb.len() + 1 && ra[1..] == *rb).then_some(Edit::Dropped),
        std::cmp::Ordering::Less => (rb.len() == ra.len() + 1 && *ra == rb[1..]).then_some(Edit::Dropped),
    }
}

/// The shortest word respelt.
const MIN_RESPELT: usize = 5;

/// Words looked for in one text at most: bounded work whatever the text.
const MAX_RESPELT: usize = 16;

/// `text` with its misspelt words spelt right, if it has any: a word of letters the built-in
/// vocabulary lacks, one letter away (dropped, added, changed, or two swapped) from a word it
/// has, becomes that word — of several, the commonest (the model weighs common words least).
/// A static model knows a word or splits it into pieces, so "custmer" lands nowhere near
/// "customer"; respelt, the two questions embed alike. Only the embedding reads the respelt
/// text (the verification step reads what was written).
pub fn respelt(text: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut done = 0; // bytes of `text` already in `out`
    let mut tried = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && tried < MAX_RESPELT {
        if !bytes[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        // Letters run into digits or a name's punctuation ("python3", "data_set") are not a word.
        if bytes.get(i).is_some_and(|b| b.is_ascii_digit() || *b == b'_') || (start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'_')) {
            continue;
        }
        let word = text[start..i].to_ascii_lowercase();
        if !(MIN_RESPELT..=MAX_RESPELT_LEN).contains(&word.len()) || salience(&word).is_some() {
            continue;
        }
        tried += 1;
        if let Some(right) = nearest(&word) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 8));
            o.push_str(&text[done..start]);
            o.push_str(right);
            done = i;
        }
    }
    out.map(|mut o| {
        o.push_str(&text[done..]);
        o
    })
}

/// Each row's length in the built-in model (int8 rows times their scale).
fn builtin_row_norms() -> Vec<f32> {
    let Some(len) = BUILTIN_MODEL.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes) else { return Vec::new() };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&BUILTIN_MODEL[8..8 + len as usize]) else { return Vec::new() };
    let data = &BUILTIN_MODEL[8 + len as usize..];
    let span = |name: &str| -> Option<(usize, usize, usize)> {
        let t = header.get(name)?;
        let off = t.get("data_offsets")?.as_array()?;
        let rows = t.get("shape")?.get(0)?.as_u64()? as usize;
        Some((off.first()?.as_u64()? as usize, off.get(1)?.as_u64()? as usize, rows))
    };
    let (Some((e0, e1, rows)), Some((w0, w1, _))) = (span("embeddings"), span("weights")) else { return Vec::new() };
    let (emb, weights) = (&data[e0..e1], &data[w0..w1]);
    let dim = emb.len() / rows.max(1);
    (0..rows)
        .map(|r| {
            let scale = weights.get(r * 4..r * 4 + 4).and_then(|b| b.try_into().ok()).map_or(0.0, f32::from_le_bytes);
            let sq: f32 = emb[r * dim..(r + 1) * dim].iter().map(|&b| f32::from(b as i8).powi(2)).sum();
            sq.sqrt() * scale
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_embeds_paraphrases_near_and_other_topics_far() {
        let e = Embedder::builtin();
        assert_eq!(e.dim(), 256);
        let v = |t: &str| e.embed(t);
        let a = v("How do I reset my password?");
        assert!((similarity(&a, &a) - 1.0).abs() < 0.01, "unit length");
        let para = similarity(&a, &v("What are the steps to reset my password?"));
        let other = similarity(&a, &v("Write a Python function that reverses a linked list"));
        assert!(para > 0.9 && other < 0.3, "{para} {other}");
        // What a static model cannot see, which the verification step is for.
        assert!(similarity(&v("10 miles to km"), &v("10 km to miles")) > 0.99);
    }

    #[test]
    fn salience_ranks_glue_below_topic_words() {
        let s = |w: &str| salience(w).unwrap();
        assert!(s("the") < 5.0 && s("plan") < 70.0 && s("rice") > 85.0 && s("population") > 75.0, "{} {} {} {}", s("the"), s("plan"), s("rice"), s("population"));
        assert_eq!(salience("catchy"), None, "held in pieces");
    }

    #[test]
    fn misspelt_words_are_embedded_as_the_words_they_misspell() {
        let e = Embedder::builtin();
        let (right, wrong) = ("How do I book an appointment with customer support?", "how do i book an apointment with custmer suport");
        assert_eq!(respelt(wrong).as_deref(), Some("how do i book an appointment with customer support"));
        assert!(similarity(&e.embed(right), &e.embed(wrong)) > 0.95, "{}", similarity(&e.embed(right), &e.embed(wrong)));
        // Without respelling, the pieces of the misspelt words land elsewhere.
        let raw = quantise(&e.model.encode_single(wrong));
        assert!(similarity(&e.embed(right), &raw) < 0.5);
        // Known words, short words and names run into digits are left as written.
        assert_eq!(respelt("How do I reset my password?"), None);
        assert_eq!(respelt("cals in a tbsp"), None);
        assert_eq!(respelt("install pyhton3"), None);
    }

    /// Every word one edit from `word` that the vocabulary has, by trying them all.
    fn respell_by_trying_all(word: &str) -> Option<f32> {
        let w = word.as_bytes();
        let mut tries: Vec<Vec<u8>> = Vec::new();
        for at in 0..=w.len() {
            if at < w.len() {
                tries.push([&w[..at], &w[at + 1..]].concat());
            }
            if at + 1 < w.len() {
                let mut t = w.to_vec();
                t.swap(at, at + 1);
                tries.push(t);
            }
            for c in b'a'..=b'z' {
                if at < w.len() && w[at] != c {
                    let mut t = w.to_vec();
                    t[at] = c;
                    tries.push(t);
                }
                tries.push([&w[..at], &[c][..], &w[at..]].concat());
            }
        }
        tries.iter().filter_map(|t| std::str::from_utf8(t).ok().and_then(salience)).min_by(f32::total_cmp)
    }

    #[test]
    fn respelling_finds_the_commonest_word_one_edit_away_as_trying_every_edit_does() {
        let words: Vec<&str> = builtin_vocab().0.keys().map(String::as_str).filter(|w| w.len() >= MIN_RESPELT && w.bytes().all(|b| b.is_ascii_lowercase())).take(3000).collect();
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        let mut checked = 0;
        for w in words {
            // A misspelling of each kind, and a word two edits away.
            let b = w.as_bytes();
            let at = next(b.len() - 1);
            let letter = b'a' + next(26) as u8;
            let mut swapped = b.to_vec();
            swapped.swap(at, at + 1);
            let mut changed = b.to_vec();
            changed[at] = letter;
            for wrong in [[&b[..at], &b[at + 1..]].concat(), [&b[..at], &[letter][..], &b[at..]].concat(), swapped, changed.clone(), [&changed[..], b"q"].concat()] {
                let wrong = String::from_utf8(wrong).unwrap();
                if salience(&wrong).is_some() || wrong.len() < MIN_RESPELT {
                    continue;
                }
                let found = respell(&wrong).map(|r| salience(r).unwrap());
                assert_eq!(found, respell_by_trying_all(&wrong), "{wrong}");
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn respelling_looks_at_a_bounded_number_of_words() {
        let unknown = "qzxvk ".repeat(MAX_RESPELT);
        let text = format!("{unknown}custmer");
        assert_eq!(respelt(&text), None, "the words after the first {MAX_RESPELT} unknown ones are left as written");
        assert_eq!(respelt(&format!("custmer {unknown}")).as_deref(), Some(format!("customer {unknown}").as_str()));
    }

    #[test]
    fn a_model_directory_is_loaded_and_embeds_as_its_model() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("tokenizer.json", BUILTIN_TOKENIZER), ("model.safetensors", BUILTIN_MODEL), ("config.json", BUILTIN_CONFIG)] {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let from_dir = Embedder::from_dir(dir.path()).unwrap();
        let text = "How do I rotate an API key?";
        assert_eq!(from_dir.embed(text), Embedder::builtin().embed(text));
        // Its vocabulary is its own: nothing is respelt by the built-in one's.
        let wrong = "how do i rotate an API kye for custmer suport";
        assert_eq!(from_dir.embed(wrong), quantise(&from_dir.model.encode_single(wrong)));
        assert_ne!(from_dir.embed(wrong), Embedder::builtin().embed(wrong));
    }

    #[test]
    fn a_model_directory_that_is_not_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Embedder::from_dir(dir.path()).is_err());
    }
}
