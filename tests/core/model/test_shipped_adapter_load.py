"""The README's two-line load of a shipped adapter onto the embedded default model, as a user runs it
(opt in: pytest -m slow; needs the shipped assets and the cache): offline, every LoRA weight of the file
lands on the model, and the adapter changes the model's output."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_readme_two_line_load_of_the_shipped_adapter(monkeypatch) -> None:
    import torch
    from safetensors.torch import load_file

    from core.model.loader import assets_present

    if not assets_present():
        pytest.fail("assets/model is missing the default vision weights: run python -m recipes.default_model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(ROOT)
    # the README's lines, verbatim
    from peft import PeftModel; from core.model.loader import load_model  # noqa: E702, I001
    model = PeftModel.from_pretrained(load_model(precision="fp32").model, "assets/adapter")  # loaded.processor: its processor

    saved = load_file(str(ROOT / "assets" / "adapter" / "adapter_model.safetensors"))
    params = dict(model.named_parameters())
    for key, value in saved.items():
        live = params[key.replace(".weight", ".default.weight")]
        assert torch.equal(live.detach(), value.to(live.dtype)), key
    ids = torch.tensor([[2, 818, 5279, 529, 506, 2069]])
    with torch.no_grad():
        with_adapter = model(input_ids=ids).logits
        with model.disable_adapter():
            base = model(input_ids=ids).logits
    assert not torch.allclose(with_adapter, base)
