"""Vision-language models: load any HF image-text-to-text model or the embedded default, choose a
precision, answer questions about a frame, and score scene VQA.

Public API (import from the submodules; this package imports nothing heavy):
- `core.model.loader.load_model(source=None, device="auto", precision="auto") -> LoadedModel`
  (`ModelNotAvailableError` when weights are missing offline)
- `core.model.chat.answer(loaded, image, question, history)` / `stream_answer(...)` (generator)
- `core.model.quantize.choose_precision / PRECISIONS / describe`
- `core.model.vqa.make_vqa_set / evaluate / score`, `core.model.scene_qa.is_correct`
- `python -m core.model.build_default` - builds the default's vision weights into assets/model/
"""
