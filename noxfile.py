"""Developer tasks. `nox` alone runs what CI runs: tests, lint, typecheck, docs."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True


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
def bench(session: nox.Session) -> None:
    """Benchmarks: each script prints its figure beside its baseline, measured in one run.

    `benchmarks/compare.py` also runs the official symphony-bdk-python: it gets a virtualenv of
    its own (so its pinned dependencies never meet symbot's), upgraded to the latest release
    from the package registry on every run, and the harness is told its interpreter.
    """
    import sys  # local: only this session needs it

    session.install("-e", ".[tests]")
    bdk_venv = session.cache_dir / "bdk-venv"
    bdk_python = bdk_venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not bdk_python.exists():
        session.run("python", "-m", "venv", str(bdk_venv))
    session.run(
        str(bdk_python), "-m", "pip", "install", "--quiet", "--upgrade", "symphony-bdk-python",
        external=True,
    )  # fmt: skip
    session.run(
        "python", "-m", "benchmarks", *session.posargs,
        env={"SYMBOT_BENCH_BDK_PYTHON": str(bdk_python)},
    )  # fmt: skip
