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
    """Benchmarks: each script prints its figure beside its baseline, measured in one run."""
    session.install("-e", ".[tests]")
    session.run("python", "-m", "benchmarks", *session.posargs)
