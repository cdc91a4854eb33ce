"""The embedded default VLM's vision side, built in two stages: `python -m recipes.default_model`.

- `config.py`   `BuildConfig` (recorded in the card) and `DefaultModelConfig` (the command line)
- `common.py`   frames, pooling, atomic checkpoints, the learning-rate schedule
- `stage1.py`   the tower pretrained alone on the scene's ground truth
- `chats.py`    stage 2's multi-turn chats about one scene (and the relational turns)
- `stage2.py`   alignment through the language model; exports the weights at every improvement
- `card.py`     card.json -> CARD.md
- `__main__.py` the command line
Stage 3 (the scene reader) is `recipes.layout_reader`; the object locator is `recipes.locator`.
"""
