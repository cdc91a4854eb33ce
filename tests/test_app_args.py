"""The command line's --precision reaches the model service's configuration; a wrong one is refused."""

import pytest

import app
from core.context import AppConfig


def test_precision_option_and_environment(monkeypatch):
    assert app.parse_args([]).precision is None
    assert app.parse_args(["--precision", "fp32-int8-head"]).precision == "fp32-int8-head"
    with pytest.raises(SystemExit):
        app.parse_args(["--precision", "fp8"])
    assert AppConfig.from_env(precision=None).precision == "auto"
    monkeypatch.setenv("VLM2VLA_PRECISION", "bf16")
    assert AppConfig.from_env().precision == "bf16"
    assert AppConfig.from_env(precision="fp32").precision == "fp32"  # the command line wins
