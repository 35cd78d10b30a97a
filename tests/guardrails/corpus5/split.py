#!/usr/bin/env python3
"""Split the fifth guardrail corpus into tuning/ and heldout/.

Every file in this directory named injection.jsonl, tools.jsonl or pii.jsonl is
split by stratum: label x class for injection and tools, the id's
`pii-<type>` / `pii-neg-<type>` / `pii-mixed` prefix for PII. Within a stratum,
records are sorted by id and round(n / 3) of them are drawn into heldout/ with a
seeded generator, so the split depends only on the ids and the seed. Output keeps
the source order. The source files are the truth; the split files are derived.

Usage: python3 split.py [--check]
"""
import json
import os
import random
import sys

SEED = 20261209
HERE = os.path.dirname(os.path.abspath(__file__))


def stratum(name, r):
    if name == "pii.jsonl":
        return r["id"].rsplit("-", 1)[0]
    return f'{r["label"]}/{r.get("class") or "-"}'


def main():
    check = "--check" in sys.argv[1:]
    ok = True
    for name in ("injection.jsonl", "tools.jsonl", "pii.jsonl"):
        path = os.path.join(HERE, name)
        if not os.path.exists(path):
            continue
        rows = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    raise SystemExit(f"{path}:{n}: {e}")
                rows.append((r, line if line.endswith("\n") else line + "\n"))
        ids = [r["id"] for r, _ in rows]
        if len(set(ids)) != len(ids):
            raise SystemExit(f"{path}: duplicate ids")
        strata = {}
        for r, _ in rows:
            strata.setdefault(stratum(name, r), []).append(r["id"])
        rng = random.Random(f"{SEED}-{name}")
        held = set()
        for key in sorted(strata):
            members = sorted(strata[key])
            held.update(rng.sample(members, int(len(members) / 3 + 0.5)))
        for part, keep in (("tuning", False), ("heldout", True)):
            out = os.path.join(HERE, part, name)
            text = "".join(l for r, l in rows if (r["id"] in held) == keep)
            if check:
                try:
                    same = open(out, encoding="utf-8").read() == text
                except FileNotFoundError:
                    same = False
                if not same:
                    print(f"MISMATCH: {out}")
                    ok = False
            else:
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with open(out, "w", encoding="utf-8") as f:
                    f.write(text)
        print(f"{name}: {len(rows)} records, {len(held)} held out, {len(strata)} strata")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
