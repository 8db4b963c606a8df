"""Run every benchmark (or the ones named on the command line), one after another."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import anyio


def _discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(here)])
        if not info.name.startswith("_") and not info.ispkg  # packages hold helpers (bdk/)
    )


def main(argv: list[str]) -> int:
    names = argv or _discover()
    unknown = sorted(set(names) - set(_discover()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(_discover())}")
        return 2
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        entry = cast(Callable[[], Awaitable[None]], module.main)
        print(f"\n=== {name} ===", flush=True)
        anyio.run(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
