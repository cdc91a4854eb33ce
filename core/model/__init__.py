"""The model runtime: load any HF image-text-to-text model or the embedded default, choose a precision,
answer questions about a frame, decode under a grammar, score scene VQA, and own the adapters on a loaded
model (the folder format and card, the PEFT state, the base fingerprint). No policy and no training here
(`core.policy`, `core.training`); the builds of the default model's weights are `recipes/`.

Public API (import from the submodules; this package imports nothing heavy):
- `core.model.loader.load_model(source=None, device="auto", precision="auto") -> LoadedModel`
  (`ModelNotAvailableError` when weights are missing offline)
- `core.model.chat.answer(loaded, image, question, history)` / `stream_answer(...)` (generator)
- `core.model.quantize.choose_precision / PRECISIONS / describe`
- `core.model.vqa.make_vqa_set / evaluate / score`, `core.model.scene_qa.is_correct`
- `core.model.adapter_files` (folder format, card) / `core.model.adapters` (activate, switch, fingerprint),
  errors in `core.model.errors`
"""
