"""The Train tab's form as one value, and the training job it asks for (`TrainForm.job_config`).

The tab hands the widgets' values over by name; every conversion and check happens here, so the tab only
wires widgets (and the same request can be built and tested without a page). What the adapter will read
(`camera`, `robot_state`, `grounded`) becomes one `core.policy.config.PolicyInputs` in the job's data.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from core.policy.config import PolicyInputs
from core.training.config import default_preset, preset
from core.training.jobspec import SERVO_DATA, DataSpec, EvalSpec, JobConfig, servo_seeds


@dataclass(frozen=True)
class TrainForm:
    name: str = ""
    episode_ids: tuple[int, ...] = ()
    expert_demos: int = 0  # scripted-expert demos generated inside the job
    preset: str = "paper"
    lr: float = 5e-5
    epochs: float = 1.0
    max_steps: int = 0  # 0: by epochs
    lora_r: int = 16
    lora_alpha: int = 32
    batch_size: int = 4
    grad_accum: int = 2
    decision_weight: float = 1.0
    camera: str = "front"
    robot_state: bool = False
    grounded: bool = False
    servo: bool = False  # grounded servoing: one long entry per cycle (implies `grounded`)
    corrections: int = 0  # servo-rule rollouts (needs `servo`)
    vqa_scenes: int = 10
    eval_samples: int = 16  # held-out samples answered after training (half of them action lists)
    robot: str = "sim"  # the app's robot (not a widget): expert demos and grounding run on it

    @classmethod
    def for_preset(cls, preset_name: str | None = None, **values: Any) -> TrainForm:
        """The form as the Train tab first shows it: preset `preset_name` (None: `default_preset()`, "cpu" without a
        GPU) with its numbers in the fields, then `values` by field name."""
        chosen = preset_name or default_preset()
        c = preset(chosen)
        return cls(**{"preset": chosen, "lr": c.lr, "epochs": c.epochs, "max_steps": c.max_steps or 0,
                      "lora_r": c.lora_r, "lora_alpha": c.lora_alpha, "batch_size": c.batch_size,
                      "grad_accum": c.grad_accum, "decision_weight": c.decision_weight, **values})

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> TrainForm:
        """From widget values by field name (None or empty: the field's default)."""
        kinds = {f.name: f for f in fields(cls)}
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name not in kinds:
                raise ValueError(f"unknown train form field {name!r}")
            if value is None or value == "":
                continue
            default = kinds[name].default
            if name == "episode_ids":
                out[name] = tuple(int(i) for i in value)
            elif isinstance(default, bool):
                out[name] = bool(value)
            elif isinstance(default, (int, float, str)):
                out[name] = type(default)(value)
        return cls(**out)

    @property
    def inputs(self) -> PolicyInputs:
        return PolicyInputs(camera=self.camera or "front", robot_state=self.robot_state,
                            grounded=self.grounded or self.servo, robot=self.robot or "sim")

    def job_config(self, base_model: str = "default") -> JobConfig:
        """The job this form asks for; `TrainingError` / `ValueError` naming what is wrong."""
        if self.corrections and not self.servo:
            raise ValueError("servo corrections answer grounding lines one entry at a time: tick 'Grounded servoing' too")
        train = preset(self.preset, lr=self.lr, epochs=self.epochs, max_steps=self.max_steps or None,
                       lora_r=self.lora_r, lora_alpha=self.lora_alpha, batch_size=self.batch_size,
                       grad_accum=self.grad_accum, decision_weight=self.decision_weight or 1.0, base_model=base_model)
        data = DataSpec(episode_ids=self.episode_ids, expert_seeds=tuple(range(self.expert_demos)), inputs=self.inputs,
                        servo_seeds=servo_seeds(self.corrections), **(SERVO_DATA if self.servo else {}))
        return JobConfig(self.name.strip(), train, data, EvalSpec(max_samples=self.eval_samples,
                                                                    vqa_scenes=self.vqa_scenes))


__all__ = ["TrainForm"]
