"""The house rules of docs/architecture.md, checked on the source: no import cycle among
symbot's modules (imports under `TYPE_CHECKING` and inside functions count), dependencies
between packages only in the documented direction, private implementation modules, no
module over 450 lines, at most 12 modules directly under `symbot/`, and no writes to an
instance `__dict__` or `object.__setattr__` outside the emulator."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symbot"

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_fields": set(),
    "_lifecycle": set(),
    "logs": {"errors"},
    "config": {"errors"},
    "transport": {"config", "errors", "_lifecycle"},
    "auth": {"transport", "config", "errors", "_lifecycle"},
    "client": {"auth", "transport", "config", "errors", "_lifecycle"},
    "health": {"errors", "_lifecycle"},
    "messages": {"errors", "_fields"},
    "datafeed": {"messages", "transport", "config", "errors", "_fields"},
    "services": {"client", "messages", "datafeed", "transport", "config", "errors", "_fields"},
    "apps": {"services", "client", "messages", "auth", "config", "errors", "_lifecycle"},
    "emulator": {"auth", "_lifecycle", "__init__"},
}
"""Which top-level parts each part may import (bot, cli, demo and testing may import any)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> Iterator[str]:
    """Every symbot module `name` imports, wherever the import statement stands."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                yield target


GRAPH = {name: sorted(set(imported_modules(name, path))) for name, path in MODULES.items()}


def part_of(module: str) -> str:
    """`symbot.auth._rsa` → `auth`; `symbot` itself → `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_cycle_among_symbot_modules() -> None:
    # The package __init__ of a module's own package is where the module is re-exported
    # from, not a dependency: importing `symbot.auth._rsa` runs `symbot.auth` first anyway.
    def edges(module: str) -> list[str]:
        return [
            target
            for target in GRAPH[module]
            if not (module.startswith(f"{target}.") and target != "symbot")
        ]

    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in edges(module):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in GRAPH:
        if module not in state:
            visit(module)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_parts_import_only_what_docs_architecture_allows() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        part = part_of(module)
        if part not in ALLOWED:
            continue
        for target in targets:
            other = part_of(target)
            if other != part and other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_packages_are_entered_through_their_init() -> None:
    private = []
    for module, targets in GRAPH.items():
        for target in targets:
            package, _, leaf = target.rpartition(".")
            inside = module == package or module.startswith(f"{package}.")
            if leaf.startswith("_") and package != "symbot" and not inside:
                private.append(f"{module} imports {target}")
    assert private == []


def test_at_most_twelve_modules_directly_under_symbot() -> None:
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top


@pytest.mark.parametrize("name", sorted(MODULES), ids=str)
def test_no_module_is_over_450_lines(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= 450, f"{name} has {lines} lines: it probably does two things"


def test_no_instance_dict_writes_or_object_setattr_outside_the_emulator() -> None:
    found = []
    for name, path in MODULES.items():
        if part_of(name) == "emulator":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_setattr = (
                isinstance(node, ast.Attribute)
                and node.attr == "__setattr__"
                and isinstance(node.value, ast.Name)
                and node.value.id == "object"
            )
            is_dict = isinstance(node, ast.Attribute) and node.attr == "__dict__"
            if is_setattr or is_dict:
                found.append(f"{name}:{getattr(node, 'lineno', 0)}")
    assert found == []


def test_every_package_docstring_says_what_it_may_import() -> None:
    missing = [
        name
        for name, path in MODULES.items()
        if path.name == "__init__.py"
        and name != "symbot"
        and "May import" not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert missing == []
