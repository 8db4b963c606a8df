"""The `symbot` command: demo, emulator, run, check, keygen.

Each subcommand is a small function over the public API; `symbot <command> --help` tells
what it does.

May import anything in symbot.
"""

from symbot.cli._main import load_bot_class, main

__all__ = ["load_bot_class", "main"]
