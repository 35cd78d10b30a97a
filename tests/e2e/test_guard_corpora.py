"""The labelled guardrail corpora: each split file is exactly what its seeded script derives
from the source files, so a held-out third cannot be edited by hand or drift from its source."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "tests" / "guardrails"


@pytest.mark.parametrize("script", [
    "corpus/split_injection_tools.py",
    "corpus/generate_pii_secrets.py",
    "corpus2/split.py",
    "corpus4/split.py",
])
def test_split_files_are_what_the_seeded_script_derives(script):
    run = subprocess.run([sys.executable, str(ROOT / script), "--check"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "MISMATCH" not in run.stdout


@pytest.mark.parametrize("corpus", ["cache_corpus", "cache_corpus2"])
def test_cache_corpus_splits_are_what_the_seeded_script_derives(corpus, tmp_path):
    """The semantic cache corpora's tuning and held-out files are exactly what `split.py`
    derives from `pairs.jsonl`."""
    src = ROOT.parent / corpus
    for name in ("pairs.jsonl", "split.py"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    run = subprocess.run([sys.executable, str(tmp_path / "split.py")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("tune.jsonl", "heldout.jsonl"):
        assert (tmp_path / name).read_bytes() == (src / name).read_bytes(), f"{corpus}/{name} differs from what split.py derives"
