"""`ModelService` with an engine precision on a tiny random Gemma-3: the status names the engine, the policy's
answers go through it, and an engine that fails during a call hands over to the transformers model, which the
status then says."""

from __future__ import annotations

import numpy as np
import torch

from core.policy.service import ModelService
from core.policy.vlm import VLMPolicy
from tests.model_fixtures import tiny_gemma3

torch.set_num_threads(1)


def test_an_engine_precision_answers_through_its_engine_until_it_fails(tmp_path, monkeypatch):
    from core.model.engine import QuantEngine

    path = tiny_gemma3(tmp_path / "m", layer_types=["sliding_attention", "full_attention"], sliding_window=12)
    svc = ModelService(str(path), device="cpu", precision="torch-int8")
    svc.start()
    status = svc.wait(120)
    assert status.state == "ready" and "int8 torch engine" in status.precision
    loaded = svc.loaded
    assert isinstance(loaded.info["engine"], QuantEngine)
    calls = []
    real = QuantEngine.current
    monkeypatch.setattr(QuantEngine, "current", lambda self: calls.append(1) or real(self))
    policy = VLMPolicy(loaded)
    img = np.zeros((28, 28, 3), dtype=np.uint8)
    assert policy.plan(img, "x", "grasp the red block")
    assert calls and policy.last["plan"].token_ids  # decoded by the engine's copy

    def broken(self):  # noqa: ANN001, ANN202
        raise RuntimeError("backend lost")

    monkeypatch.setattr(QuantEngine, "current", broken)
    assert policy.plan(img, "x", "grasp the red block")  # the transformers model answers instead
    assert "engine" not in loaded.info and loaded.precision == "int8-head"
    assert "torch-int8 engine failed: RuntimeError: backend lost" in svc.status().precision
