"""Whether a learned judge over word alignments can serve more paraphrases without serving a
near-miss (README, semantic cache: *A learned judge over word alignments was tried*).

    cargo build --release -p weir-server --example eval_semantic
    python3 tests/experiments/cache_judge.py        # needs numpy and scikit-learn

Tuning parts only. For each pair, `eval_semantic -vvv` gives the similarity, the verification
step's verdict and both prompts' signatures (their Debug form); the judge is a logistic regression
over features of the pair, let overrule only the soft rejections ("topic", and "opposites" where
opposable words are said on one side only), above the highest score of a near-miss it may
overrule among the parts it was trained on (and a pair it overrules is served only at or above the
similarity threshold, as now). Each part is predicted by a judge trained on the other three.
"""
import json
import re
import subprocess
from collections import Counter

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from potion import ROOT, word_vector

CORPORA = ["cache_corpus", "cache_corpus2", "cache_corpus3", "cache_corpus4"]
EVAL = ROOT / "target/release/examples/eval_semantic"
THRESHOLD = 0.55


def field(signature, name):
    m = re.search(r"\b" + name + r": (\{.*?\}|\[.*?\])", signature)
    return re.findall(r'"([^"]*)"', m.group(1)) if m else []


def closeness(words, others):
    """For each word of `words` not in `others`, how close its vector comes to one of theirs."""
    out = []
    for w in words - others:
        v = word_vector(w)
        out.append(max((float(v @ u) for u in map(word_vector, others) if u is not None and v is not None), default=0.0))
    return out


def pairs():
    rows = []
    for c in CORPORA:
        path = ROOT / "tests" / c / "tune.jsonl"
        kinds = {json.loads(l)["id"]: json.loads(l)["kind"] for l in path.read_text().splitlines() if l.strip()}
        out = subprocess.run([EVAL, path, "0", "-v", "-vv", "-vvv"], capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
        for i, line in enumerate(out):
            head = line.split(" ")
            if len(head) < 3 or head[0] not in kinds:
                continue
            a, b = out[i + 1], out[i + 2]
            verdict = re.findall(r'Err\("(\w+)"\)', line)
            marks_a, marks_b = set(field(a, "marks")), set(field(b, "marks"))
            words_a, words_b = set(field(a, "content")), set(field(b, "content"))
            close_a, close_b = closeness(words_a, words_b), closeness(words_b, words_a)
            topic = sum(1 for x, s in ((words_a - words_b, set(field(a, "salient"))), (words_b - words_a, set(field(b, "salient")))) for w in x if w in s)
            similarity = float(head[1])
            rows.append(
                {
                    "corpus": c,
                    "id": head[0],
                    "paraphrase": kinds[head[0]] == "paraphrase",
                    "similarity": similarity,
                    "verdict": verdict[0] if verdict else "ok",
                    "two_sided": bool(marks_a - marks_b) and bool(marks_b - marks_a),
                    "text": line[:200],
                    "features": [
                        similarity,
                        len(words_a & words_b) / max(1, len(words_a | words_b)),
                        float(np.mean(close_a)) if close_a else 1.0,
                        float(np.mean(close_b)) if close_b else 1.0,
                        min(close_a, default=1.0),
                        min(close_b, default=1.0),
                        topic,
                        len(marks_a ^ marks_b),
                        float(bool(marks_a - marks_b) and bool(marks_b - marks_a)),
                    ],
                }
            )
    return rows


def served(r):
    return r["verdict"] == "ok" and r["similarity"] >= THRESHOLD


def soft(r):
    return r["verdict"] == "topic" or (r["verdict"] == "opposites" and not r["two_sided"])


def main():
    rows = pairs()
    reasons = Counter((r["paraphrase"], "similarity" if r["verdict"] == "ok" and not served(r) else r["verdict"]) for r in rows)
    print("paraphrases:", sorted(((v, k[1]) for k, v in reasons.items() if k[0]), reverse=True))
    print("near-misses:", sorted(((v, k[1]) for k, v in reasons.items() if not k[0]), reverse=True))
    x = np.array([r["features"] for r in rows])
    y = np.array([r["paraphrase"] for r in rows])
    gained, leaked = 0, 0
    for c in CORPORA:
        test = np.array([r["corpus"] == c for r in rows])
        scale = StandardScaler().fit(x[~test])
        judge = LogisticRegression(max_iter=1000).fit(scale.transform(x[~test]), y[~test])
        trained = judge.predict_proba(scale.transform(x[~test]))[:, 1]
        line = max([s for s, r in zip(trained, (r for r, t in zip(rows, test) if not t)) if not r["paraphrase"] and soft(r)] + [0.5])
        scores = judge.predict_proba(scale.transform(x[test]))[:, 1]
        part = [r for r, t in zip(rows, test) if t]
        # (Overruled, a soft rejection is served only above the similarity threshold too.)
        overruled = [r for r, s in zip(part, scores) if soft(r) and s > line and r["similarity"] >= THRESHOLD]
        more = [r for r in overruled if r["paraphrase"]]
        wrong = [r for r in overruled if not r["paraphrase"]]
        print(f"{c}: served by the step {sum(served(r) for r in part if r['paraphrase'])}; the judge adds {len(more)} paraphrases and {len(wrong)} near-misses")
        for r in wrong:
            print("    near-miss served:", r["text"])
        gained += len(more)
        leaked += len(wrong)
    print(f"all four: +{gained} paraphrases, +{leaked} near-misses")


if __name__ == "__main__":
    main()
