"""The semantic cache's built-in embedding model (potion-base-8M, `server/models/`), read with
numpy alone, for the experiments in this directory: a text's vector (mean of its tokens' vectors
weighted as the model says, normalised) and a word's. An approximation of the Rust embedder
(`server/src/cache/embed.rs`: BERT-style lower-casing and splitting, WordPiece), close enough to
compare features; never used by Weir itself."""
import json
import re
import struct
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "server/models/potion-base-8M"


def _load():
    raw = (MODEL / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n

    def tensor(name, dtype):
        a, b = header[name]["data_offsets"]
        return np.frombuffer(raw[base + a : base + b], dtype=dtype).reshape(header[name]["shape"])

    vectors = tensor("embeddings", np.int8).astype(np.float32)
    weights = tensor("weights", np.float32)
    vocab = json.loads((MODEL / "tokenizer.json").read_text())["model"]["vocab"]
    return vectors, weights, vocab


VECTORS, WEIGHTS, VOCAB = _load()
DIMS = VECTORS.shape[1]


def wordpiece(word):
    """The token ids of one lower-cased word (longest match first, `##` for continuations)."""
    out, i = [], 0
    while i < len(word):
        j = min(len(word), i + 40)
        while j > i:
            piece = word[i:j] if i == 0 else "##" + word[i:j]
            if piece in VOCAB:
                out.append(VOCAB[piece])
                break
            j -= 1
        if j == i:
            return [VOCAB["[UNK]"]]
        i = j
    return out


def _vector(ids):
    if not ids:
        return None
    v = (VECTORS[ids] * WEIGHTS[ids][:, None]).mean(0)
    norm = np.linalg.norm(v)
    return v / norm if norm else None


def embed(text):
    """A text's vector (zeros for a text with no tokens)."""
    ids = [t for w in re.findall(r"\w+|[^\w\s]", text.lower()) for t in wordpiece(w)]
    v = _vector(ids)
    return np.zeros(DIMS) if v is None else v


_words = {}


def word_vector(word):
    """One word's vector, or None."""
    if word not in _words:
        _words[word] = _vector(wordpiece(word.lower()))
    return _words[word]
