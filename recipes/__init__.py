"""Build recipes: the commands that make what ships in `assets/` (never imported by the running app).

- `python -m recipes.default_model`   the default VLM's vision side (stages 1 and 2) -> assets/model/
- `python -m recipes.locator`         the object locator head on the shipped vision tower -> assets/model/
- `python -m recipes.layout_reader`   stage 3: the scene reader side adapter -> assets/reader/
- `python -m recipes.default_adapter` the default action adapter (an ordinary training job) -> assets/adapter/
- `python -m recipes.restater`        the restater side adapter -> assets/restate/
Each card records the base fingerprint of the model build it was made on (`core.model.adapters`).
"""
