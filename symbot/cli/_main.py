"""The `symbot` command: demo, emulator, run, check, keygen.

Each subcommand is a small function over the public API; `symbot <command> --help` tells
what it does and how to call it. Errors symbot raises on purpose (`SymbotError`) are
printed as one plain sentence, naming what failed and the fix, with exit status 1.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import anyio
import httpx

from symbot.errors import ConfigError, SymbotError

__all__ = ["load_bot_class", "main"]

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


def _emulator(args: argparse.Namespace) -> int:
    from symbot.cli._emulator import EmulatorOptions, serve_emulator
    from symbot.logs import configure_logging

    configure_logging(args.log_level, structured=args.log_json)
    options = EmulatorOptions(
        host=args.host,
        http_port=args.port,
        https_port=args.https_port,
        bot_username=args.bot_username,
        directory=args.dir,
        private_key=args.private_key,
        key_bits=args.key_bits,
        users=[name for name in args.users.split(",") if name.strip()],
        token_lifetime=args.token_lifetime,
        expiry_hint=not args.no_expiry_hint,
        chat=args.chat,
    )
    try:
        anyio.run(lambda: serve_emulator(options, sys.stdout), backend=args.backend)
    except OSError as exc:  # a port in use, a directory that cannot be written, a missing key
        if exc.errno == errno.EADDRINUSE:
            ports = f"{options.http_port} or {options.https_port}"
            problem = f"port {ports} on {options.host} is in use; choose others with "
            fix = "--port and --https-port (0: any free port)"
        else:
            problem, fix = (
                f"{exc.filename}: {exc.strerror or exc}; ",
                "check --dir and --private-key",
            )
        print(f"symbot emulator: {problem}{fix}", file=sys.stderr)
        return 1
    return 0


def _check(args: argparse.Namespace) -> int:
    from symbot.cli._check import check
    from symbot.logs import configure_logging

    configure_logging(args.log_level, structured=args.log_json)
    passed = anyio.run(lambda: check(args.config, sys.stdout), backend=args.backend)
    return 0 if passed else 1


def _run(args: argparse.Namespace) -> int:
    from symbot.config import BotConfig
    from symbot.logs import configure_logging

    config = BotConfig.from_file(args.config)
    bot_class = load_bot_class(args.target)
    username = getattr(config.auth, "username", None) or "bot"
    identity = f"{username}@{httpx.URL(config.pod_url).host}"
    configure_logging(args.log_level, structured=args.log_json, identity=identity)
    bot_class(config).run(backend=args.backend)
    return 0


def load_bot_class(target: str) -> type:
    """`module:Class` or `path/to/file.py:Class` → the Bot subclass. The current directory
    is importable, as with `python -m`. ConfigError when it cannot be found."""
    from symbot.bot import Bot

    module_name, _, class_name = target.rpartition(":")
    if not module_name or not class_name:
        raise ConfigError("TARGET", f"{target!r} is not module:Class", "write e.g. my_bot:MyBot")
    module = _import(module_name)
    found = getattr(module, class_name, None)
    if not (inspect.isclass(found) and issubclass(found, Bot)):
        bots = [
            name
            for name, value in vars(module).items()
            if inspect.isclass(value) and issubclass(value, Bot) and value is not Bot
        ]
        offer = f"it defines {', '.join(bots)}" if bots else "it defines no Bot subclass"
        raise ConfigError("TARGET", f"{class_name!r} in {module_name} is not a Bot subclass", offer)
    return found


def _import(name: str) -> ModuleType:
    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise ConfigError("TARGET", f"{path} does not exist", "check the bot file's path")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ConfigError("TARGET", f"{path} cannot be imported", "pass a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            raise ConfigError(
                "TARGET",
                f"no module named {name!r} in {os.getcwd()} or the installed packages",
                "run symbot from the directory that holds it, or give a path: my_bot.py:MyBot",
            ) from None
        raise


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
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on")
    emulator.add_argument("--port", type=int, default=8080, help="HTTP port (0: any free one)")
    emulator.add_argument("--https-port", type=int, default=8443, help="HTTPS port (0: any)")
    emulator.add_argument("--bot-username", default="mybot", help="the bot account's username")
    emulator.add_argument(
        "--dir", type=Path, default=Path("symbot-emulator"), help="where keys and configs go"
    )
    emulator.add_argument(
        "--private-key", type=Path, help="use this RSA key (e.g. from symbot keygen)"
    )
    emulator.add_argument("--key-bits", type=int, default=2048, choices=[2048, 3072, 4096])
    emulator.add_argument(
        "--users", default="alice,bob", help="comma-separated people (IM each, room #general)"
    )
    emulator.add_argument(
        "--token-lifetime", type=float, default=3600.0, help="seconds tokens live (default 3600)"
    )
    emulator.add_argument(
        "--no-expiry-hint",
        action="store_true",
        help="issue no authorizationToken (bots then need max_token_age)",
    )
    emulator.add_argument("--chat", action="store_true", help="type as the first user")
    emulator.set_defaults(handler=_emulator)

    run = sub.add_parser(
        "run",
        parents=[_common_options()],
        help="run your bot: symbot run my_bot:MyBot -c symbot.toml",
        description="Import TARGET (module:Class, or path/to/file.py:Class; the current "
        "directory is importable), build it with the configuration file and run it until "
        "Ctrl-C or SIGTERM (graceful stop; a second signal stops at once).",
    )
    run.add_argument("target", metavar="TARGET", help="module:BotClass or file.py:BotClass")
    run.add_argument("-c", "--config", type=Path, default=Path("symbot.toml"), help="TOML file")
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
