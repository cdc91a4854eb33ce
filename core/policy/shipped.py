"""The shipped policy stack and the one place that loads it.

What ships in `assets/` for the embedded default model (each folder is built by its recipe and its card
names the *base fingerprint* of the model build it was trained on, `core.model.adapters.base_fingerprint`):
- `assets/adapter/`: the default action adapter `default-sim` (a grounded servoing LoRA) of the built-in arm;
  another simulated robot's, when one ships, in `assets/adapter-<robot>/` (`default-<robot>`, `shipped_adapter`);
- `assets/restate/`: the restater side adapter (commands in other words or languages -> English);
- `assets/reader/`: the scene reader side adapter (scene questions after the layout line);
- `assets/model/locator.safetensors`: the object locator (layout lines and grounding lines).

`install_shipped(service)` puts them on a loaded default model (the app does it once the model is ready;
`core.context.App.build`); `load_shipped(...)` loads the default model and installs them, for tools and
benchmarks. Both leave out what is missing or was built for another model build, and log why.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.policy.service import ModelService

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parents[2] / "assets"
ADAPTER_DIR, ADAPTER_NAME = ASSETS / "adapter", "default-sim"
RESTATER_DIR, RESTATER_NAME = ASSETS / "restate", "builtin-restater"
READER_DIR, READER_NAME = ASSETS / "reader", "scene-reader"
WEIGHTS = "adapter_model.safetensors"
# names of the side adapters the app loads on the model itself: a user adapter of the same name would
# replace them on the model, so the registry gives one a numbered name instead
SIDE_NAMES = frozenset({RESTATER_NAME, READER_NAME})


def shipped_adapter(robot: str = "sim") -> tuple[Path, str] | None:
    """The shipped action adapter for `robot` (a registry name) and the name it is registered under: the
    built-in arm's `assets/adapter` (`default-sim`); another robot's `assets/adapter-<robot>`
    (`default-<robot>`, e.g. the SO-101 in simulation); None when none ships for it (an adapter trained on
    one robot's lines, heights and camera does not drive another)."""
    if robot == "sim":
        return ADAPTER_DIR, ADAPTER_NAME
    folder = ASSETS / f"adapter-{robot}"
    return (folder, f"default-{robot}") if (folder / WEIGHTS).is_file() else None


def matches_base(adapter_dir: Path = ADAPTER_DIR) -> bool:
    """True when the adapter in `adapter_dir` was trained on the default model's current build."""
    from core.model.adapter_files import read_card
    from core.model.adapters import base_fingerprint

    try:
        card = read_card(adapter_dir)
    except Exception:  # noqa: BLE001 - an unreadable card is a mismatch, reported by the caller
        return False
    return bool(card) and card.get("base_fingerprint") == base_fingerprint()


def load_side(model: Any, folder: Path, name: str, what: str, rebuild: str, missing: str) -> str | None:
    """Load a side adapter shipped for the default model (the restater, the scene reader) beside the model's
    adapters, not active. `name`, or None with a logged reason: not shipped (`missing` says what happens
    then), trained on another build of the default model (`rebuild`: the command that rebuilds it), or not
    loadable on this model (e.g. int8 layers that take no LoRA)."""
    from core.model.adapters import load_side_adapter
    from core.model.errors import AdapterError

    if not (Path(folder) / WEIGHTS).is_file():
        log.info("no %s shipped: %s", what, missing)
        return None
    if not matches_base(folder):
        log.warning("the shipped %s was trained on another build of the default model; not loaded (rebuild it: %s)",
                    what, rebuild)
        return None
    try:
        load_side_adapter(model, folder, name)
    except (AdapterError, OSError, ValueError, KeyError) as exc:
        log.warning("cannot load the shipped %s: %s", what, exc)
        return None
    return name


def load_restater(model: Any, folder: Path = RESTATER_DIR) -> str | None:
    """The shipped restater beside the model's live adapter (not active: the policy switches it in per
    restatement); its name, or None with a logged reason."""
    return load_side(model, folder, RESTATER_NAME, "restater", "python -m recipes.restater",
                     "commands go to the subtask step as typed")


def load_reader(model: Any, folder: Path = READER_DIR) -> str | None:
    """The scene reader beside the model's adapters (not active: it is switched in per question); its name,
    or None with a logged reason."""
    return load_side(model, folder, READER_NAME, "scene reader", "python -m recipes.layout_reader",
                     "scene questions are asked without a layout line")


def install_reader(service: ModelService, locator_assets: Path | None = None, folder: Path = READER_DIR) -> bool:
    """The layout line's locator and the scene reader on the service's model (on the model thread). Without
    either, questions go bare (the bare model read a line worse than none); a failure leaves the model usable."""
    from core.model.worker import run
    from core.policy.reader import SceneLayout

    try:
        layout = run(SceneLayout.load, locator_assets)
        reader = run(load_reader, service.loaded.model, folder) if layout is not None else None
    except Exception:  # noqa: BLE001 - chat still works, without the line
        log.exception("could not load the scene reader; questions are asked without a layout line")
        return False
    service.use_reader(layout, reader)
    return reader is not None


def restater_weight(folder: Path) -> float:
    """The calibration weight a restater build was measured with (its card's `calibration.prior_weight`);
    the module default for a card without one."""
    from core.language.restate import PRIOR_WEIGHT
    from core.model.adapter_files import read_card

    try:
        weight = float(read_card(folder).get("calibration", {}).get("prior_weight", PRIOR_WEIGHT))
    except Exception:  # noqa: BLE001 - an unreadable card: the default weight
        return PRIOR_WEIGHT
    return weight if 0.0 <= weight <= 2.0 else PRIOR_WEIGHT


def install_restater(service: ModelService, folder: Path = RESTATER_DIR) -> str | None:
    """The shipped restater on the service's model, under its generation lock; also computes the calibration
    prior now (a few seconds), so the first restated command does not wait for it."""
    from core.model.worker import run
    from core.policy.restate import Restater

    loaded = service.require()
    restater = None
    with service.lock:
        name = run(load_restater, loaded.model, folder)
        if name:
            restater = Restater(name, prior_weight=restater_weight(folder))
            run(restater.prepare, loaded.model, loaded.processor)
    service.use_restater(restater)
    if name:
        log.info("restater loaded: commands in other words or languages are restated in English first")
    return name


def install_adapter(service: ModelService, folder: Path = ADAPTER_DIR, name: str = ADAPTER_NAME) -> str | None:
    """Activate the shipped action adapter (or another folder trained on this model build) on the service's
    model. Its name, or None with a logged reason (not shipped, another build, not loadable)."""
    from core.model.errors import AdapterError

    if not (Path(folder) / WEIGHTS).is_file():
        log.info("no shipped default adapter in %s: autonomous mode runs the base model", Path(folder).name)
        return None
    if not matches_base(folder):
        log.warning("the shipped default adapter was trained on another build of the default model; "
                    "not activated (rebuild it: python -m recipes.default_adapter)")
        return None
    try:
        return service.activate_adapter(folder, name)
    except (AdapterError, OSError, ValueError) as exc:
        log.warning("cannot activate the shipped default adapter: %s", exc)
        return None


def install_shipped(service: ModelService, *, adapter: bool = True, restater: bool = True, reader: bool = True,
                    adapter_dir: Path | None = None, robot: str = "sim") -> None:
    """The shipped stack on a loaded default model, in this order: the locator and scene reader, the action
    adapter (the one shipped for `robot`, `shipped_adapter`; `adapter_dir`: another one trained on this
    build, activated under its folder's name), the restater. Each part that is missing or does not fit is
    left out (logged)."""
    if reader:
        install_reader(service)
    if adapter and adapter_dir is not None:
        install_adapter(service, Path(adapter_dir), Path(adapter_dir).name)
    elif adapter:
        shipped = shipped_adapter(robot)
        if shipped is None:
            log.info("no action adapter ships for the %s robot: autonomous mode runs the base model until one "
                     "trained on it is activated (Train tab)", robot)
        else:
            install_adapter(service, *shipped)
    if restater:
        install_restater(service)


def load_shipped(precision: str = "auto", *, threads: int | None = None, device: str = "cpu",
                 adapter: bool = True, restater: bool = True, reader: bool = True,
                 adapter_dir: Path | None = None) -> ModelService:
    """The embedded default model with the shipped stack installed (`install_shipped`), ready; every model
    computation on the model thread, as in the app. Raises `RuntimeError` when the model does not load."""
    from core.policy.service import ModelService

    service = ModelService(None, device=device, precision=precision, threads=threads)
    service.on_ready(lambda: install_shipped(service, adapter=adapter, restater=restater, reader=reader,
                                             adapter_dir=adapter_dir))
    service.start()
    status = service.wait()
    if status.state != "ready":
        raise RuntimeError(f"the default model did not load: {status.message}")
    return service


__all__ = ["ADAPTER_DIR", "ADAPTER_NAME", "READER_DIR", "READER_NAME", "RESTATER_DIR", "RESTATER_NAME",
           "SIDE_NAMES", "install_shipped", "load_reader", "load_restater", "load_shipped", "load_side",
           "matches_base", "restater_weight", "shipped_adapter"]
