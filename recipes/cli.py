"""A recipe's config dataclass is its command line: one option per field, and back (`command_line`).

    @dataclass(frozen=True)
    class Config:
        steps: int = option(150, "training steps")
        fresh: bool = option(False, "discard the checkpoint and start over")
    config = parse(Config, argv, __doc__)          # --steps 20 --fresh
    command_line(config)                           # ["--steps", "20", "--fresh"]: what differs from the defaults

Options are the field names in kebab case (`max_steps` -> `--max-steps`), or `flag=`. A bool that defaults to
False is a switch (`--fresh`); one that defaults to True is switched off with `--no-<name>`. Types come from
the annotations: int, float, str, Path, bool, and `X | None` (default None). A field whose type is a dataclass
adds its fields as options of their own (e.g. `core.policy.config.PolicyInputs`: `--camera`, `--robot-state`,
`--grounded`), with the help its fields' metadata give, and the nested object is built from them.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCALARS = (int, float, str, Path, bool)
ROOT = Path(__file__).resolve().parents[1]


def option(default: Any = dataclasses.MISSING, help: str = "", *, flag: str | None = None,  # noqa: A002
           choices: Sequence[Any] | None = None, default_factory: Any = dataclasses.MISSING) -> Any:
    """A config field with its command-line help (`flag`: the option's name when not the field's)."""
    meta = {"help": help, **({"flag": flag} if flag else {}), **({"choices": tuple(choices)} if choices else {})}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _scalar(annotation: Any) -> tuple[type, bool]:
    """(the scalar type, whether None is allowed) of a field annotation."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and inner[0] in SCALARS:
            return inner[0], True
    if annotation in SCALARS:
        return annotation, False
    raise TypeError(f"a command-line option cannot be of type {annotation!r}")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"option {f.name} has no default")


def _leaves(cls: type, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dataclasses.Field, Any]]:
    """(path of field names, field, type) of every option of `cls`, nested dataclasses flattened."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            out += _leaves(kind, (*prefix, f.name))
        else:
            out.append(((*prefix, f.name), f, kind))
    return out


def _flag(f: dataclasses.Field, kind: type, default: Any) -> str:
    if "flag" in f.metadata:
        return f.metadata["flag"]
    name = f.name.replace("_", "-")
    return f"--no-{name}" if kind is bool and default is True else f"--{name}"


def _shown(value: Any) -> str:
    """A default as the help shows it (a folder in this checkout relative to it)."""
    if isinstance(value, Path):
        try:
            return str(value.relative_to(ROOT))
        except ValueError:
            return str(value)
    return str(value)


def parser(cls: type, description: str | None = None) -> argparse.ArgumentParser:
    """The command line of config class `cls`."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for path, f, annotation in _leaves(cls):
        kind, optional = _scalar(annotation)
        default = _default(f)
        dest = ".".join(path)
        help_ = f.metadata.get("help", "")
        if kind is bool:
            ap.add_argument(_flag(f, kind, default), dest=dest, action="store_false" if default else "store_true",
                            help=help_)
            continue
        shown = f" (default {_shown(default)})" if default not in (None, "") else ""
        metavar = {int: "N", float: "X", Path: "PATH"}.get(kind, "TEXT")
        ap.add_argument(_flag(f, kind, default), dest=dest, type=kind, default=default,
                        choices=f.metadata.get("choices"), help=help_ + shown,
                        metavar=None if f.metadata.get("choices") else metavar)
        if optional and default is not None:
            raise TypeError(f"option {dest}: an `X | None` field defaults to None")
    return ap


def build(cls: type, values: dict[str, Any]) -> Any:
    """An instance of `cls` from dotted option values ("inputs.camera": ...)."""
    kwargs: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            inner = {k[len(f.name) + 1:]: v for k, v in values.items() if k.startswith(f.name + ".")}
            kwargs[f.name] = build(hints[f.name], inner)
        elif f.name in values:
            kwargs[f.name] = values[f.name]
    return cls(**kwargs)


def parse(cls: type, argv: Sequence[str] | None = None, description: str | None = None) -> Any:
    """The config `argv` asks for; a bad value exits with argparse's usage message (a config's own check,
    `ValueError` in `__post_init__`, too)."""
    ap = parser(cls, description)
    args = ap.parse_args(argv)
    try:
        return build(cls, vars(args))
    except ValueError as exc:
        ap.error(str(exc))


def command_line(config: Any, skip: Sequence[str] = ()) -> list[str]:
    """The options that give `config` from its class's defaults (fields named in `skip` left out, e.g. folders
    on the machine that ran it): the command line a card records."""
    out: list[str] = []
    for path, f, annotation in _leaves(type(config)):
        if path[-1] in skip:
            continue
        value: Any = config
        for name in path:
            value = getattr(value, name)
        kind, _ = _scalar(annotation)
        default = _default(f)
        if value == default:
            continue
        flag = _flag(f, kind, default)
        out += [flag] if kind is bool else [flag, str(value)]
    return out


__all__ = ["build", "command_line", "option", "parse", "parser"]
