#!/usr/bin/env python3
"""Derive tune.jsonl and heldout.jsonl from pairs.jsonl (deterministic).

The second corpus's script (`../cache_corpus2/split.py`: per kind, ids sorted and shuffled with a
seeded generator, the first third held out, lines copied byte for byte) run on this directory with
this corpus's seed. Standard library only.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261210

script = os.path.join(HERE, "..", "cache_corpus2", "split.py")
with open(script, encoding="utf-8") as f:
    source = f.read()
seeded = source.replace("SEED = 20261207\n", f"SEED = {SEED}\n", 1)
if seeded == source:
    raise SystemExit(f"{script}: no seed line to replace")
# The script works in the directory of the file it is run as.
exec(compile(seeded, os.path.join(HERE, "split.py"), "exec"), {"__file__": os.path.join(HERE, "split.py"), "__name__": "__main__"})
