"""A recipe's config dataclass is its command line, and back (recipes/cli.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.policy.config import PolicyInputs
from recipes.cli import command_line, option, parse, parser


@dataclass(frozen=True)
class Toy:
    steps: int = option(150, "training steps")
    lr: float = option(2e-4, "learning rate")
    out: Path = option(Path("assets/x"), "where it goes")
    threads: int | None = option(None, "CPU threads")
    fresh: bool = option(False, "start over")
    where: bool = option(True, "without the where turns", flag="--no-where")
    kind: str = option("a", "which kind", choices=("a", "b"))
    inputs: PolicyInputs = field(default_factory=PolicyInputs)


def test_fields_become_options_and_back():
    cfg = parse(Toy, ["--steps", "20", "--lr", "0.1", "--out", "/tmp/y", "--fresh", "--no-where", "--kind", "b",
                      "--grounded", "--threads", "3"])
    assert cfg == Toy(steps=20, lr=0.1, out=Path("/tmp/y"), threads=3, fresh=True, where=False, kind="b",
                      inputs=PolicyInputs(grounded=True))
    assert parse(Toy, []) == Toy()
    words = command_line(cfg, skip=("out",))
    assert words == ["--steps", "20", "--lr", "0.1", "--threads", "3", "--fresh", "--no-where", "--kind", "b",
                     "--grounded"]
    assert parse(Toy, words) == Toy(**{**cfg.__dict__, "out": Toy().out})
    assert command_line(Toy()) == []


def test_bad_values_exit_with_the_reason(capsys):
    for argv in (["--steps", "many"], ["--kind", "c"], ["--grounded", "--robot-state"], ["--camera", "top"]):
        with pytest.raises(SystemExit):
            parse(Toy, argv)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        parse(Toy, ["--grounded", "--robot-state"])
    assert "choose one" in capsys.readouterr().err


def test_help_lists_every_option_with_its_default():
    text = parser(Toy).format_help()
    for flag in ("--steps", "--lr", "--out", "--threads", "--fresh", "--no-where", "--kind", "--camera",
                 "--robot-state", "--grounded"):
        assert flag in text
    assert "(default 150)" in text


@pytest.mark.parametrize("module", ["default_model", "locator", "layout_reader", "default_adapter", "restater"])
def test_every_recipe_parses_its_defaults(module):
    import importlib

    mod = importlib.import_module(f"recipes.{module}.__main__" if module == "default_model" else f"recipes.{module}")
    configs = [v for k, v in vars(mod).items() if k.endswith("Config") and isinstance(v, type)
               and v.__module__.startswith("recipes.")]
    assert configs, f"recipes.{module} has no config class"
    for cls in configs:
        if cls.__name__ == "BuildConfig":
            continue
        assert parse(cls, []) == cls()
