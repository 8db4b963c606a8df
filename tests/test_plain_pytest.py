"""Plain `pytest` in a clone tests the clone's own symbot, in this process and in the child
processes the suite starts, whether or not (and wherever else) symbot is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import subprocess
import sys
from pathlib import Path

import symbot


def test_probe() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import symbot; print(symbot.__file__)"],
        cwd=Path(__file__).parent,  # not the clone's root, which -c would put on sys.path
        capture_output=True, text=True, check=True,
    )
    Path("imported.txt").write_text(f"{symbot.__file__}\\n{child.stdout}")
"""


def test_plain_pytest_in_a_clone_imports_the_clones_symbot_everywhere(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "symbot", clone / "symbot", ignore=shutil.ignore_patterns("__pycache__"))
    (clone / "tests").mkdir()
    shutil.copy(ROOT / "pyproject.toml", clone)
    shutil.copy(ROOT / "tests" / "conftest.py", clone / "tests")
    (clone / "tests" / "test_probe.py").write_text(PROBE)
    pytest_command = Path(sys.executable).with_name("pytest")  # the console script, not -m
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}

    result = subprocess.run(  # noqa: S603 - the pytest of this interpreter
        [str(pytest_command), "-q", "-p", "no:cacheprovider"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    in_tests, in_child = (clone / "imported.txt").read_text().split()
    assert Path(in_tests).is_relative_to(clone / "symbot")
    assert Path(in_child).is_relative_to(clone / "symbot")
