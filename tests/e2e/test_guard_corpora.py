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
    "corpus5/split.py",
    "corpus6/split.py",
    "corpus7/split.py",
    "corpus7/generate.py",
])
def test_split_files_are_what_the_seeded_script_derives(script):
    run = subprocess.run([sys.executable, str(ROOT / script), "--check"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "MISMATCH" not in run.stdout


CACHE_CORPORA = ["cache_corpus", "cache_corpus2", "cache_corpus3", "cache_corpus4"]


@pytest.mark.parametrize("corpus", CACHE_CORPORA)
def test_cache_corpus_splits_are_what_the_seeded_script_derives(corpus, tmp_path):
    """The semantic cache corpora's tuning and held-out files are exactly what `split.py`
    derives from `pairs.jsonl` (a script may run another corpus's, so each is copied beside its
    siblings, without the derived files)."""
    for name in CACHE_CORPORA:
        (tmp_path / name).mkdir()
        for file in ("pairs.jsonl", "split.py"):
            (tmp_path / name / file).write_bytes((ROOT.parent / name / file).read_bytes())
    run = subprocess.run([sys.executable, str(tmp_path / corpus / "split.py")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("tune.jsonl", "heldout.jsonl"):
        derived = tmp_path / corpus / name
        assert derived.read_bytes() == (ROOT.parent / corpus / name).read_bytes(), f"{corpus}/{name} differs from what split.py derives"
