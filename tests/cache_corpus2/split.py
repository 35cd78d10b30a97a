#!/usr/bin/env python3
"""Derive tune.jsonl and heldout.jsonl from pairs.jsonl (deterministic).

For each kind separately ("paraphrase", "near_miss"), the ids are sorted and
shuffled with a fresh random.Random(20261207); the first third of the shuffled
ids is held out. Both output files keep the original line order of pairs.jsonl
and copy the lines byte for byte. Standard library only.
"""
import json
import os
import random

SEED = 20261207
KINDS = ("paraphrase", "near_miss")

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "pairs.jsonl")

with open(src, encoding="utf-8") as f:
    lines = [line for line in f.read().split("\n") if line.strip()]

records = [json.loads(line) for line in lines]
ids_by_kind = {k: [] for k in KINDS}
for rec in records:
    if rec["kind"] not in ids_by_kind:
        raise SystemExit(f"unknown kind {rec['kind']!r} in {rec['id']}")
    ids_by_kind[rec["kind"]].append(rec["id"])

heldout_ids = set()
for kind in KINDS:
    ids = sorted(ids_by_kind[kind])
    if len(ids) % 3:
        raise SystemExit(f"{kind}: {len(ids)} pairs is not divisible by 3")
    random.Random(SEED).shuffle(ids)
    heldout_ids.update(ids[: len(ids) // 3])

tune, heldout = [], []
for line, rec in zip(lines, records):
    (heldout if rec["id"] in heldout_ids else tune).append(line)

for name, out in (("tune.jsonl", tune), ("heldout.jsonl", heldout)):
    with open(os.path.join(here, name), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(l + "\n" for l in out))
    print(f"{name}: {len(out)} pairs")
