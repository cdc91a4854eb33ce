"""The command line's --precision and --model-threads reach the app's configuration; wrong values are refused."""

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


def test_model_threads_default_leaves_a_core_for_the_control_loop(monkeypatch):
    import os

    assert AppConfig().model_threads == max(1, (os.cpu_count() or 2) - 1)
    assert app.parse_args(["--model-threads", "2"]).model_threads == 2
    with pytest.raises(SystemExit):
        app.parse_args(["--model-threads", "0"])
    monkeypatch.setenv("VLM2VLA_MODEL_THREADS", "3")
    assert AppConfig.from_env(model_threads=None).model_threads == 3
