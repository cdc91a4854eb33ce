"""Helpers of the model evaluations that ask an adapter held-out questions (`bench/eval/`): loading the
shipped model with an adapter, what the adapter reads, the first lines of its questions, the options they
share, and reading the phase of a grasp plan."""

from __future__ import annotations

import argparse
from pathlib import Path


def held_out_args(doc: str):  # noqa: ANN201 - argparse.Namespace
    """The options of the benchmarks that ask the shipped adapter held-out expert questions."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=6, help="held-out demos per task kind")
    ap.add_argument("--seed", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--adapter", type=Path, default=None,
                    help="an adapter folder to measure instead of the shipped one (its result file gets "
                         "the folder's name as a suffix)")
    return ap.parse_args()


def result_name(bench: str, adapter: Path | None) -> str:
    """`bench` for the shipped adapter, `bench-<folder name>` for another one."""
    return bench if adapter is None else f"{bench}-{adapter.resolve().name}"


def adapter_inputs(adapter: Path | None = None):  # noqa: ANN201 - core.policy.config.PolicyInputs
    """What the shipped adapter (or the one in `adapter`) reads besides the frame, from its card."""
    from core.model.adapter_files import read_card
    from core.policy.config import PolicyInputs
    from core.policy.shipped import ADAPTER_DIR

    return PolicyInputs.from_card(read_card(adapter or ADAPTER_DIR))


def load_shipped(bench: str, precision: str, threads: int | None, adapter: Path | None = None):  # noqa: ANN201
    """The default model with the shipped adapter (or `adapter`) active, without the side adapters
    (`core.policy.shipped.load_shipped`), or None (said why) when there is no such adapter for this model
    build. The model's work runs on the model thread."""
    from core.model.loader import assets_present
    from core.policy.shipped import ADAPTER_DIR, matches_base
    from core.policy.shipped import load_shipped as load_stack

    if not assets_present():
        print(f"{bench}: the default model is not built; nothing measured")
        return None
    if not matches_base(adapter or ADAPTER_DIR):
        print(f"{bench}: no {'such' if adapter else 'shipped'} adapter for this model build; nothing measured")
        return None
    return load_stack(precision, threads=threads, adapter_dir=adapter, restater=False, reader=False).loaded


_GROUNDERS: dict[str, object] = {}


def question_lines(record, inputs, max_entries: int):  # noqa: ANN001, ANN201
    """The first line an adapter's plan / action / "done?" questions start with for this episode, as
    its training wrote them (`inputs`: the adapter's `core.policy.config.PolicyInputs`): `(step, subtask) ->
    line` for a grounded adapter (the shipped object locator, the sim camera) or one with the robot's state;
    None for an adapter that reads neither."""
    if inputs.grounded:
        from core.policy.grounding import sim_grounder
        from core.training.data import DataConfig, grounding_lines

        camera = inputs.camera
        if camera not in _GROUNDERS:
            _GROUNDERS[camera] = sim_grounder(camera=camera)
        return grounding_lines(record, DataConfig(max_entries=max_entries, inputs=inputs),
                               _GROUNDERS[camera].lines, {})  # type: ignore[attr-defined]
    if inputs.robot_state:
        return lambda step, subtask: record.state_line(step)
    return None


def signs(plan: str) -> tuple[int, int, int] | None:
    """Per axis +1 / -1 / 0 for the plan's first phase; None when it moves nothing (gripper only, stay)."""
    from core.language.plan import first_entry_rule

    rule = first_entry_rule(plan)
    if rule is None or rule[1] is not None:
        return None
    return tuple(1 if a in ("+", "++") else -1 if a in ("-", "--") else 0 for a in rule[0])  # type: ignore[return-value]


def grasp_phase(plan: str) -> str:
    """approach / descend / close / other: what the first phase of a grasp plan does."""
    first = plan.split(", then ")[0]
    if first == "close the gripper":
        return "close"
    sg = signs(plan)
    if sg is None:
        return "other"
    if sg[0] or sg[1]:
        return "approach"
    return "descend" if sg[2] < 0 else "other"
