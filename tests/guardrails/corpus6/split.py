#!/usr/bin/env python3
"""Split the sixth guardrail corpus (injection and tools) into tuning/ and heldout/.

The second corpus's script (`../corpus2/split.py`: by stratum, the id's prefix for PII, a third
held out with a seeded generator) run on this directory with this corpus's seed.

Usage: python3 split.py [--check]
"""
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261214

_spec = importlib.util.spec_from_file_location("corpus2_split", os.path.join(HERE, "..", "corpus2", "split.py"))
split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(split)
split.SEED = SEED
split.HERE = HERE

if __name__ == "__main__":
    split.main()
