"""Developer tasks. `nox` alone runs what CI runs: tests, lint, typecheck, docs, fidelity."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck", "docs", "fidelity"]
nox.options.reuse_existing_virtualenvs = True

BDK_VERSION = "3.0.0"
"""The symphony-bdk-python release the fidelity tier proves the emulator against (the latest
3.x on the registry when it was verified). To move on: run `nox -s fidelity` with the new
one here, then pin it."""


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, every async test on both anyio backends (asyncio and trio)."""
    session.install("-e", ".[tests]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[tests]", "mypy", "nox")
    session.run("mypy", "--strict")


@nox.session
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "build/site")


@nox.session
def fidelity(session: nox.Session) -> None:
    """The official Symphony BDK for Python, unmodified, against the served emulator
    (fidelity/): every step it takes, each failure blamed on the emulator, the BDK or the
    harness. The BDK's virtualenv is kept between runs; only a new pin reinstalls it."""
    session.install("-e", ".[emulator]")
    bdk_python = _bdk_python(session, f"bdk-{BDK_VERSION}", f"symphony-bdk-python=={BDK_VERSION}")
    session.run("python", "-m", "fidelity", "--bdk-python", str(bdk_python), *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each script prints its figure beside its baseline, measured in one run.

    `benchmarks/compare.py` also runs the official symphony-bdk-python, in a virtualenv of its
    own upgraded to the latest release on every run; the harness is told its interpreter.
    """
    session.install("-e", ".[tests]")
    bdk_python = _bdk_python(session, "bdk-venv", "symphony-bdk-python", upgrade=True)
    session.run(
        "python", "-m", "benchmarks", *session.posargs,
        env={"SYMBOT_BENCH_BDK_PYTHON": str(bdk_python)},
    )  # fmt: skip


def _bdk_python(
    session: nox.Session, name: str, requirement: str, *, upgrade: bool = False
) -> Path:
    """The interpreter of a virtualenv in nox's cache holding `requirement`, so that the BDK's
    pinned dependencies never meet symbot's. Made (with uv when there is one) only when
    missing; installed into only when `requirement` is not met already, or with `upgrade`."""
    venv = Path(session.cache_dir) / name
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    uv = shutil.which("uv")
    if not python.exists():
        if uv:
            session.run(uv, "venv", "--quiet", "--python", sys.executable, str(venv), external=True)
        else:
            session.run(sys.executable, "-m", "venv", str(venv), external=True)
    if not upgrade and _has(session, python, requirement):
        return python
    if uv:
        install = [uv, "pip", "install", "--quiet", "--python", str(python)]
    else:
        install = [str(python), "-m", "pip", "install", "--quiet"]
    session.run(*install, *(["--upgrade"] if upgrade else []), requirement, external=True)
    return python


def _has(session: nox.Session, python: Path, requirement: str) -> bool:
    """Whether `python` already has `requirement` ("name==version") installed."""
    name, _, version = requirement.partition("==")
    probe = f"import importlib.metadata as m; print(m.version({name!r}))"
    found = session.run(
        str(python), "-c", probe, external=True, silent=True, success_codes=[0, 1]
    )  # fmt: skip
    return bool(version) and isinstance(found, str) and found.strip() == version
