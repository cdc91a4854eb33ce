"""The shipped policy stack still answers exactly as recorded in tests/golden/policy.json (real default model)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_shipped_stack_gives_the_golden_outputs():
    from core.model.loader import assets_present

    if not assets_present():
        pytest.skip("the default model is not built")
    res = subprocess.run([sys.executable, "-m", "tests.golden.policy"], cwd=ROOT, capture_output=True, text=True,
                         timeout=1800)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "identical to policy.json" in res.stdout
