"""Whether the built-in embedding model's vectors help the prompt-injection model (README,
*Meaning instead of spelling, tried*), and whether the injection model helps on tool definitions.

    cargo build --release -p weir-server --example guard_corpus
    python3 tests/experiments/injection_embeddings.py            # needs numpy and scikit-learn
    python3 tests/experiments/injection_embeddings.py --tools

Tuning parts only. Each of the four injection tuning parts is predicted by the rules (as
`guard_corpus <part> injection-rules --misses` reports them) or a model trained on the other three
parts, its threshold at the score 1 % of their benign texts exceed under five-fold
cross-validation (as `train.py` sets it). With `--tools`: the shipped injection model scored on
every string of every definition of the four tool tuning parts, against what the rules miss and
what they flag.
"""
import importlib.util
import json
import math
import re
import struct
import subprocess
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from potion import ROOT, embed

_spec = importlib.util.spec_from_file_location("train", ROOT / "tests/guardrails/model/train.py")
train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train)

CORPORA = ["corpus", "corpus2", "corpus5", "corpus6"]
GUARD_CORPUS = ROOT / "target/release/examples/guard_corpus"


def rule_verdicts(part, family):
    """Ids the rules miss (positives) and ids they flag (benign), from `guard_corpus --misses`."""
    out = subprocess.run([GUARD_CORPUS, part, family, "--misses"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    missed = {l.split()[1] for l in out.splitlines() if l.startswith("missed ")}
    flagged = {l.split()[2].rstrip(":") for l in out.splitlines() if l.startswith("false alarm ")}
    return missed, flagged


def load(file, family):
    rows = []
    for c in CORPORA:
        part = f"{c}/tuning"
        missed, flagged = rule_verdicts(part, family)
        for line in (ROOT / "tests/guardrails" / part / file).read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                r["corpus"] = c
                r["positive"] = r["label"] in ("injection", "poisoned")
                r["rule"] = (r["id"] not in missed) if r["positive"] else (r["id"] in flagged)
                rows.append(r)
    return rows


def threshold(clf, x, y):
    scores = cross_val_predict(clf, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="decision_function")
    benign = np.sort(scores[~y])[::-1]
    return float(benign[int(0.01 * len(benign))])


def sentences(text):
    found = [s for s in re.split(r"(?<=[.!?:])\s+|\n+", text) if len(s.split()) >= 3]
    return found or [text]


def report(name, rows, flags):
    y = np.array([r["positive"] for r in rows])
    cells, caught, benign = [], 0, 0
    for c in CORPORA:
        m = np.array([r["corpus"] == c for r in rows])
        cells.append(f"{c} {flags[m & y].sum()}/{(m & y).sum()} · {flags[m & ~y].sum()}/{(m & ~y).sum()}")
        caught += flags[m & y].sum()
        benign += flags[m & ~y].sum()
    print(f"{name:28} {' | '.join(cells)} | all {caught}/{y.sum()} · {benign}/{(~y).sum()}")


def text_model(rows, features, c_value):
    y = np.array([r["positive"] for r in rows])
    rule = np.array([r["rule"] for r in rows])
    flags = np.zeros(len(rows), dtype=bool)
    for c in CORPORA:
        test = np.array([r["corpus"] == c for r in rows])
        clf = LogisticRegression(C=c_value, max_iter=5000, class_weight="balanced")
        t = threshold(clf, features[~test], y[~test])
        clf.fit(features[~test], y[~test])
        flags[test] = (clf.decision_function(features[test]) > t) | rule[test]
    return flags


def sentence_model(rows, vectors, c_value):
    """Trained on sentences (each labelled as its text), a text scored by its highest sentence."""
    y = np.array([r["positive"] for r in rows])
    rule = np.array([r["rule"] for r in rows])

    def fit(idx):
        x = np.vstack([vectors[i] for i in idx])
        labels = np.concatenate([[y[i]] * len(vectors[i]) for i in idx])
        return LogisticRegression(C=c_value, max_iter=3000, class_weight="balanced").fit(x, labels)

    flags = np.zeros(len(rows), dtype=bool)
    for c in CORPORA:
        train_idx = [i for i, r in enumerate(rows) if r["corpus"] != c]
        folds = np.arange(len(train_idx)) % 5
        benign = []
        for f in range(5):
            clf = fit([i for i, k in zip(train_idx, folds) if k != f])
            benign += [clf.decision_function(vectors[i]).max() for i, k in zip(train_idx, folds) if k == f and not y[i]]
        t = np.sort(benign)[::-1][int(0.01 * len(benign))]
        clf = fit(train_idx)
        for i, r in enumerate(rows):
            if r["corpus"] == c:
                flags[i] = clf.decision_function(vectors[i]).max() > t or rule[i]
    return flags


def injections():
    rows = load("injection.jsonl", "injection-rules")
    grams = train.matrix([r["text"] for r in rows])
    whole = np.array([embed(r["text"]) for r in rows])
    per_sentence = [np.array([embed(s) for s in sentences(r["text"])]) for r in rows]
    report("rules alone", rows, np.array([r["rule"] for r in rows]))
    report("4-grams (shipped)", rows, text_model(rows, grams, train.C))
    for c_value in (1.0, 10.0, 100.0):
        report(f"whole text, C={c_value:g}", rows, text_model(rows, whole, c_value))
        report(f"4-grams + vector, C={c_value:g}", rows, text_model(rows, sp.hstack([grams, sp.csr_matrix(whole * 0.5)]).tocsr(), c_value))
    for c_value in (0.1, 1.0, 10.0):
        report(f"by sentence, C={c_value:g}", rows, sentence_model(rows, per_sentence, c_value))


def strings(value, out):
    """The strings of a tool definition a model reads (descriptions, titles, defaults, enums)."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in ("description", "title", "default", "enum", "examples") or isinstance(v, (dict, list)):
                strings(v, out)
    elif isinstance(value, list):
        for v in value:
            strings(v, out)


def tools():
    raw = (ROOT / "server/src/guard/injection_model.bin").read_bytes()
    bits, scale, bias, t = struct.unpack("<Ifff", raw[4:20])
    q = np.frombuffer(raw[20:], dtype=np.int8)

    def score(text):
        b = train.buckets(text)
        return bias + scale * float(sum(int(q[h]) for h in b)) / math.sqrt(len(b)) if b else bias

    rows = load("tools.jsonl", "tools")
    for c in CORPORA:
        part = [r for r in rows if r["corpus"] == c]
        flags = []
        for r in part:
            texts = []
            strings(r["tool"], texts)
            flags.append(any(score(s) > t for s in texts if len(s.split()) >= 5))
        missed = [f for r, f in zip(part, flags) if r["positive"] and not r["rule"]]
        more = [f for r, f in zip(part, flags) if not r["positive"] and not r["rule"]]
        print(f"{c}: the rules miss {len(missed)} poisoned, the model catches {sum(missed)} of them; {sum(more)} of {len(more)} benign the rules pass are flagged")


if __name__ == "__main__":
    tools() if "--tools" in sys.argv else injections()
