"""The `symbot` command: demo, emulator, run, check, keygen.

Each subcommand is a small function over the public API; `symbot <command> --help` tells
what it does.

May import anything in symbot.
"""

from symbot.cli._main import main
from symbot.cli._target import TargetError, load_bot_class

__all__ = ["TargetError", "load_bot_class", "main"]
