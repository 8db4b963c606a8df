"""`python -m symbot.cli`: the `symbot` command."""

import sys

from symbot.cli import main

sys.exit(main())
