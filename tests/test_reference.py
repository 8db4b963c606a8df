"""The API reference (docs/reference.md) renders every public name of the packages a bot's
author uses (`symbot`, `symbot.auth`, `symbot.services`, `symbot.apps`, `symbot.health`,
`symbot.emulator` and `symbot.testing`), each through a `::: dotted.name` directive that
resolves to the very object the package exports, and it renders typed signatures."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"
MKDOCS = ROOT / "mkdocs.yml"
PUBLIC_MODULES = (
    "symbot",
    "symbot.auth",
    "symbot.services",
    "symbot.apps",
    "symbot.health",
    "symbot.emulator",
    "symbot.testing",
)
DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)


def resolve(dotted: str) -> Any:
    """The object `dotted` names: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


def rendered() -> dict[str, Any]:
    return {target: resolve(target) for target in DIRECTIVE.findall(REFERENCE.read_text())}


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_is_in_the_reference(module: str) -> None:
    exported = importlib.import_module(module)
    targets = rendered()
    missing = []
    for name in exported.__all__:
        value = getattr(exported, name)
        direct = f"{module}.{name}"
        if direct in targets:
            continue
        if not any(value is obj for obj in targets.values()):
            missing.append(name)
    assert missing == [], f"docs/reference.md lacks `::: {module}.<name>` for {missing}"


def test_every_directive_resolves() -> None:
    assert rendered()  # resolve() raises on a name that does not exist


def test_the_reference_shows_typed_signatures() -> None:
    options = MKDOCS.read_text()
    assert "show_signature_annotations: true" in options
    assert "separate_signature: true" in options


def test_no_docstring_sends_the_reader_to_the_module_docstring() -> None:
    """The reference renders class and function docstrings alone: "see the module
    docstring" would be printed literally, pointing nowhere."""
    offenders = []
    for module in PUBLIC_MODULES:
        exported = importlib.import_module(module)
        for name in exported.__all__:
            doc = getattr(getattr(exported, name), "__doc__", None) or ""
            if "module docstring" in doc:
                offenders.append(f"{module}.{name}")
    assert offenders == []
