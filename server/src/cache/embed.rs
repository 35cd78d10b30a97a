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
        Self { model: Arc::clone(model), name: "potion-base-8M (built in)".into() }
    }

    /// A model2vec model directory (`tokenizer.json`, `model.safetensors`, `config.json`).
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, EmbedError> {
        let model = StaticModel::from_pretrained(dir, None, Some(true), None).map_err(|e| EmbedError::Load { dir: dir.display().to_string(), reason: format!("{e:#}") })?;
        Ok(Self { model: Arc::new(model), name: dir.display().to_string() })
    }

    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// The unit vector of a text, quantised.
    pub fn embed(&self, text: &str) -> Vector {
        // Its first 512 tokens: a longer question is compared by its start (the verification
        // step reads all of it).
        quantise(&self.model.encode_single(text))
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
    static TABLE: OnceLock<(WordMap<u32>, Vec<f32>)> = OnceLock::new();
    let (vocab, norms) = TABLE.get_or_init(|| {
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
    });
    vocab.get(word).and_then(|&id| norms.get(id as usize)).copied()
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
    fn a_model_directory_is_loaded_and_embeds_as_its_model() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("tokenizer.json", BUILTIN_TOKENIZER), ("model.safetensors", BUILTIN_MODEL), ("config.json", BUILTIN_CONFIG)] {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let from_dir = Embedder::from_dir(dir.path()).unwrap();
        let text = "How do I rotate an API key?";
        assert_eq!(from_dir.embed(text), Embedder::builtin().embed(text));
    }

    #[test]
    fn a_model_directory_that_is_not_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Embedder::from_dir(dir.path()).is_err());
    }
}
