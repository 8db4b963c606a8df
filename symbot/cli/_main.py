"""The `symbot` command: demo, emulator, run, check, keygen.

Each subcommand is a small function over the public API; `symbot <command> --help` tells
what it does and how to call it. Errors symbot raises on purpose (`SymbotError`) are
printed as one plain sentence, naming what failed and the fix, with exit status 1.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import httpx

from symbot import __version__
from symbot.cli._emulator import add_emulator_arguments, run_emulator
from symbot.cli._target import load_bot_class
from symbot.errors import SymbotError

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]
BACKENDS = ("asyncio", "trio")


def _keygen(args: argparse.Namespace) -> int:
    from symbot.auth import generate_key_pair, key_pair_paths

    path, public_path = key_pair_paths(args.output, overwrite=args.force)
    print(f"generating a {args.bits}-bit RSA key pair...", file=sys.stderr)
    pair = generate_key_pair(args.bits)
    pair.write(path, overwrite=args.force)
    print(f"private key: {path} (mode 0600, PKCS#8; keep it secret)", file=sys.stderr)
    print(f"public key:  {public_path}", file=sys.stderr)
    print(
        "Give this public key to your pod administrator to import into the bot account:\n",
        file=sys.stderr,
    )
    print(pair.public_key_pem.decode(), end="")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from symbot.demo import run_demo

    return run_demo(interactive=args.interactive, backend=args.backend)


def _check(args: argparse.Namespace) -> int:
    from symbot.cli._check import check
    from symbot.logs import configure_logging

    configure_logging(args.log_level, structured=args.log_json)
    passed = anyio.run(lambda: check(args.config, sys.stdout), backend=args.backend)
    return 0 if passed else 1


def _run(args: argparse.Namespace) -> int:
    from attrs import evolve

    from symbot.config import BotConfig
    from symbot.logs import configure_logging

    config = BotConfig.from_file(args.config)
    health = config.health
    if args.health_port is not None:
        health = evolve(health, port=args.health_port)
    if args.health_host is not None:
        health = evolve(health, host=args.health_host)
    config = evolve(config, health=health)
    bot_class = load_bot_class(args.target)
    username = getattr(config.auth, "username", None) or "bot"
    identity = f"{username}@{httpx.URL(config.pod_url).host}"
    configure_logging(args.log_level, structured=args.log_json, identity=identity)
    bot_class(config).run(backend=args.backend)
    return 0


def _common_options(log_level: str = "INFO") -> argparse.ArgumentParser:
    """--log-level, --log-json and --backend (a fresh parent parser per command: argparse
    shares the parent's actions, so one command's defaults would leak into the others)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--log-level",
        default=log_level,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help=f"how much symbot logs (default {log_level})",
    )
    parent.add_argument("--log-json", action="store_true", help="one JSON object per log line")
    parent.add_argument("--backend", default="asyncio", choices=BACKENDS, help="anyio backend")
    return parent


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symbot",
        description="Symphony Messaging bots with bullet-proof authentication. "
        "Start with `symbot demo`.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"symbot {__version__} (Python {platform.python_version()})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="watch a bot talk to people, with no pod and no keys (about 5 s)",
        description="Start the Symphony emulator on 127.0.0.1, give a demo bot a fresh key "
        "pair, and play a conversation in an IM and a room. The transcript shows the "
        "logins, a token renewal before expiry, a revocation answered by one re-login, and "
        "a deleted datafeed recovered; a summary ends it.",
    )
    demo.add_argument("--interactive", action="store_true", help="type as alice yourself")
    demo.add_argument("--backend", default="asyncio", choices=BACKENDS, help="anyio backend")
    demo.set_defaults(handler=_demo)

    emulator = sub.add_parser(
        "emulator",
        parents=[_common_options()],
        help="run a Symphony emulator to develop a bot against",
        description="Serve a Symphony emulator (pod, key manager, session auth, agent) on "
        "loopback, create a bot account and a few users, write a ready symbot.toml into "
        "--dir, and run until Ctrl-C. Messages are printed as they are sent.",
    )
    add_emulator_arguments(emulator)
    emulator.set_defaults(handler=run_emulator)

    run = sub.add_parser(
        "run",
        parents=[_common_options()],
        help="run your bot: symbot run my_bot:MyBot -c symbot.toml",
        description="Import TARGET (module:Class, or path/to/file.py:Class; the current "
        "directory is importable), build it with the configuration file and run it until "
        "Ctrl-C or SIGTERM (graceful stop; a second signal stops at once). With "
        "--health-port, /healthz, /readyz and /metrics are served on that port.",
    )
    run.add_argument("target", metavar="TARGET", help="module:BotClass or file.py:BotClass")
    run.add_argument("-c", "--config", type=Path, default=Path("symbot.toml"), help="TOML file")
    run.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve /healthz, /readyz and /metrics on this port (health.port)",
    )
    run.add_argument(
        "--health-host",
        metavar="HOST",
        help="address the health port listens on (health.host; default 127.0.0.1, this "
        "machine only; 0.0.0.0 for probes from outside a container)",
    )
    run.set_defaults(handler=_run)

    check = sub.add_parser(
        "check",
        parents=[_common_options("ERROR")],
        help="validate a configuration and try to log in",
        description="Load the configuration, load the key or certificate, log in to the pod "
        "and the key manager, read the bot's identity and its datafeeds; say plainly what "
        "failed and how to fix it. Exit status 0 when everything works.",
    )
    check.add_argument("-c", "--config", type=Path, default=Path("symbot.toml"), help="TOML file")
    check.set_defaults(handler=_check)

    keygen = sub.add_parser(
        "keygen",
        help="create an RSA key pair for a bot account",
        description="Create a 4096-bit RSA key pair: the private key (PKCS#8, file mode 0600) "
        "for the bot, the public key (printed and written beside it) for the pod administrator.",
    )
    keygen.add_argument(
        "-o", "--output", type=Path, default=Path("bot-private-key.pem"), help="private key path"
    )
    keygen.add_argument("--bits", type=int, default=4096, choices=[2048, 3072, 4096])
    keygen.add_argument(
        "--force",
        action="store_true",
        help="replace existing key files (a symbolic link is replaced, never followed)",
    )
    keygen.set_defaults(handler=_keygen)
    return parser


def _symbot_error(exc: BaseException) -> SymbotError | None:
    """The SymbotError in `exc`, looking inside exception groups from task groups."""
    if isinstance(exc, SymbotError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _symbot_error(inner)
            if found is not None:
                return found
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `symbot` console script."""
    args = _build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except (Exception, BaseExceptionGroup) as exc:
        error = _symbot_error(exc)
        if error is None:
            raise
        print(f"symbot {args.command}: {error}", file=sys.stderr)
        return 1
