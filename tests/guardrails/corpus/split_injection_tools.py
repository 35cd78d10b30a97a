#!/usr/bin/env python3
"""Split injection.jsonl and tools.jsonl into tuning/ and heldout/.

Rule: within every label x class stratum, exactly round(n / 3) records go to
heldout/, chosen with a seeded random generator; the rest go to tuning/.
Records are sorted by id inside a stratum before sampling, and strata are
visited in sorted order, so the split depends only on the ids and the seed,
not on line order. Output files keep the order of the source file.

The script also validates both corpora (every line parses, ids are unique,
labels/classes/contexts are from the allowed sets) and prints the counts.

Usage: python3 split_injection_tools.py [--check]
  --check  validate and verify that the existing split files match, write nothing
"""
import json
import os
import random
import sys

SEED = 20250607
HERE = os.path.dirname(os.path.abspath(__file__))

SPECS = {
    "injection.jsonl": {
        "labels": {"injection", "benign"},
        "positive": "injection",
        "classes": {"instruction_override", "role_impersonation", "exfiltration",
                    "concealment", "hidden_text", "tool_steering"},
        "fields": {"id", "context", "text", "label", "class", "note"},
        "check": lambda r: r["context"] in {"user", "tool_result", "document"}
        and isinstance(r["text"], str) and r["text"],
    },
    "tools.jsonl": {
        "labels": {"poisoned", "benign"},
        "positive": "poisoned",
        "classes": {"instruction_override", "concealment", "secret_access",
                    "exfiltration", "cross_tool_steering", "hidden_text"},
        "fields": {"id", "label", "class", "source", "tool"},
        "check": lambda r: isinstance(r["tool"], dict)
        and isinstance(r["tool"].get("name"), str)
        and isinstance(r["tool"].get("description"), str)
        and isinstance(r["tool"].get("inputSchema"), dict)
        and (r["label"] != "benign" or bool(r["source"])),
    },
}


def load(path, spec):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                raise SystemExit(f"{path}:{n}: empty line")
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: does not parse: {e}")
            missing = spec["fields"] - r.keys()
            if missing:
                raise SystemExit(f"{path}:{n}: missing fields {sorted(missing)}")
            if r["label"] not in spec["labels"]:
                raise SystemExit(f"{path}:{n}: bad label {r['label']!r}")
            if r["label"] == spec["positive"]:
                if r["class"] not in spec["classes"]:
                    raise SystemExit(f"{path}:{n}: bad class {r['class']!r}")
            elif r["class"] is not None:
                raise SystemExit(f"{path}:{n}: benign record with a class")
            if not spec["check"](r):
                raise SystemExit(f"{path}:{n}: malformed record {r['id']}")
            rows.append((r, line if line.endswith("\n") else line + "\n"))
    ids = [r["id"] for r, _ in rows]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise SystemExit(f"{path}: duplicate ids {sorted(dup)}")
    return rows


def stratum(r):
    return (r["label"], r["class"] or "-")


def split(rows):
    strata = {}
    for r, _ in rows:
        strata.setdefault(stratum(r), []).append(r["id"])
    rng = random.Random(SEED)
    held = set()
    for key in sorted(strata):
        ids = sorted(strata[key])
        k = int(len(ids) / 3 + 0.5)
        held.update(rng.sample(ids, k))
    return held


def main():
    check_only = "--check" in sys.argv[1:]
    ok = True
    for name, spec in SPECS.items():
        rows = load(os.path.join(HERE, name), spec)
        held = split(rows)
        out = {"tuning": [l for r, l in rows if r["id"] not in held],
               "heldout": [l for r, l in rows if r["id"] in held]}
        for part, lines in out.items():
            path = os.path.join(HERE, part, name)
            if check_only:
                try:
                    with open(path, encoding="utf-8") as f:
                        same = f.read() == "".join(lines)
                except FileNotFoundError:
                    same = False
                if not same:
                    print(f"MISMATCH: {path}")
                    ok = False
                else:
                    load(path, spec)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.writelines(lines)
        counts = {}
        for r, _ in rows:
            c = counts.setdefault(stratum(r), [0, 0])
            c[1 if r["id"] in held else 0] += 1
        print(f"{name}: {len(rows)} records")
        print(f"  {'label':10} {'class':22} {'tuning':>6} {'heldout':>7} {'total':>5}")
        for (label, cls), (t, h) in sorted(counts.items()):
            print(f"  {label:10} {cls:22} {t:6} {h:7} {t + h:5}")
        t = sum(v[0] for v in counts.values())
        h = sum(v[1] for v in counts.values())
        print(f"  {'all':10} {'':22} {t:6} {h:7} {t + h:5}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
