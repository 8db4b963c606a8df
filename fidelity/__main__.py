"""`python -m fidelity --bdk-python PATH`: run the fidelity steps (see fidelity/__init__.py).

`nox -s fidelity` makes the BDK's virtualenv and passes its interpreter. Exit status 0 when
every step passed and every emulator route is proved by a step.
"""

from __future__ import annotations

import argparse
import sys

import anyio

from fidelity.harness import run_fidelity
from fidelity.steps import NOT_CALLABLE, STEPS


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m fidelity", description=__doc__)
    parser.add_argument(
        "--bdk-python", required=True, help="the interpreter of a virtualenv with the BDK"
    )
    args = parser.parse_args(argv)
    passed = anyio.run(run_fidelity, args.bdk_python, STEPS, NOT_CALLABLE, sys.stdout)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
