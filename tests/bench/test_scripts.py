"""The benchmark scripts run from the installed project: no path tricks, no script importing another, and
every `python bench/...` line of the README names a script that exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([*ROOT.glob("bench/perf/*.py"), *ROOT.glob("bench/eval/*.py")])
HELPERS = {"bench.common", "bench.heldout", "bench.phrases", "bench.devices"}
HELPER_PACKAGES = ("bench.appbench", "bench.data")  # the in-app benchmark's parts and command sets


def test_scripts_import_helpers_only_and_leave_sys_path_alone():
    assert len(SCRIPTS) >= 18
    bad = []
    for path in SCRIPTS:
        if path.name == "__init__.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "sys.path" in text:
            bad.append(f"{path.relative_to(ROOT)} edits sys.path")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench"):
                names = {f"{node.module}.{a.name}" for a in node.names} if node.module == "bench" else {node.module}
                bad += [f"{path.relative_to(ROOT)} imports {n}" for n in names
                        if n not in HELPERS and not n.startswith(HELPER_PACKAGES)]
    assert not bad, bad


def test_the_readmes_benchmark_lines_name_existing_scripts():
    lines = re.findall(r"python (bench/[\w/]+\.py)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(lines) >= 18
    missing = [p for p in lines if not (ROOT / p).is_file()]
    assert not missing, missing
