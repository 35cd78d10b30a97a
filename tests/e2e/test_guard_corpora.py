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
