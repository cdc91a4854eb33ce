"""Every VLM2VLA_* environment variable is read in core/settings.py, with the same meaning everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.settings import ENV, VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_no_other_module_reads_a_vlm2vla_variable():
    """Only core/settings.py may look a VLM2VLA_* name up in the environment (writing one for a child
    process is fine)."""
    readers = []
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("ui/**/*.py"), ROOT / "app.py"]:
        if path.name == "settings.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getenv") \
                    and node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("VLM2VLA_"):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and str(node.slice.value).startswith("VLM2VLA_") and isinstance(node.ctx, ast.Load):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not readers, readers


def test_each_variable_has_a_name_and_a_help():
    assert len(ENV) == len(VARIABLES) == len(set(ENV.values())) >= 16
    assert all(name.startswith("VLM2VLA_") and help_ for name, help_ in VARIABLES)


def test_values_are_parsed_and_empty_counts_as_unset(tmp_path):
    s = Settings.from_env({ENV["port"]: "7881", ENV["recordings_dir"]: str(tmp_path), ENV["model"]: "",
                           ENV["cache_dir"]: "~/x", ENV["model_threads"]: "3", ENV["max_upload_mb"]: "0.2"})
    assert s.port == 7881 and s.recordings_dir == tmp_path and s.model is None and s.model_threads == 3
    assert s.cache_dir == Path.home() / "x" and s.max_upload_mb == 1.0  # at least 1 MB
    assert Settings.from_env({}) == Settings()


def test_a_malformed_number_is_refused_or_falls_back_to_a_safe_default():
    with pytest.raises(ValueError, match="VLM2VLA_PORT"):
        Settings.from_env({ENV["port"]: "eighty"})
    with pytest.raises(ValueError, match="VLM2VLA_MODEL_THREADS"):
        Settings.from_env({ENV["model_threads"]: "two"})
    s = Settings.from_env({ENV["control_ttl_s"]: "soon", ENV["takeover_after_s"]: "-3", ENV["max_upload_mb"]: "big"})
    assert (s.control_ttl_s, s.takeover_after_s, s.max_upload_mb) == (8.0, 15.0, 512.0)


def test_the_store_and_the_app_read_the_same_variables(monkeypatch, tmp_path):
    from core.context import AppConfig
    from core.store import StoreConfig

    monkeypatch.setenv(ENV["recordings_dir"], str(tmp_path / "rec"))
    monkeypatch.setenv(ENV["db_url"], "sqlite:///x.db")
    assert StoreConfig.from_env().recordings_dir == AppConfig.from_env().recordings_dir == tmp_path / "rec"
    assert StoreConfig.from_env().db_url == AppConfig.from_env().db_url == "sqlite:///x.db"


def test_the_readme_lists_every_variable():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name, _ in VARIABLES if f"`{name}`" not in readme] == []
