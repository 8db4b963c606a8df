"""`symbot emulator`: a standalone Symphony emulator to develop a bot against.

It serves the pod, Key Manager, session auth and agent on loopback (HTTPS with its own CA,
and plain HTTP), creates a bot account whose key lives in `--dir`, a few people with an IM
each and a room, writes a ready `symbot.toml` (RSA) and `symbot-cert.toml` (client
certificate), prints them, and runs until Ctrl-C. Every message is printed as it is sent,
and with `--chat` you type as the first person, to talk to your bot.

Every `Emulator(...)` option has a flag (`EMULATOR_FLAGS`, one row per keyword), so whatever
a test can set up in Python can be served to another client, e.g. `--lenient-content-type`
for clients that still send a Content-Type on certificate login.
"""

from __future__ import annotations

import argparse
import errno
import inspect
import json
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.abc
from attrs import field, frozen
from cryptography.hazmat.primitives import serialization

from symbot.auth import generate_key_pair, load_private_key, write_private_key
from symbot.demo import ReadLine, read_stdin_line, relay_lines
from symbot.emulator import Emulator, emulator_config_toml

__all__ = [
    "EMULATOR_FLAGS",
    "EmulatorFlag",
    "EmulatorOptions",
    "add_emulator_arguments",
    "emulator_options",
    "run_emulator",
    "serve_emulator",
]

ROOM = "general"
TOKEN_LIFETIME = 3600.0


@frozen
class EmulatorFlag:
    """The `symbot emulator` flag that sets the `Emulator(...)` keyword `parameter`.

    `default` None means the Emulator's own default (read from its signature); the three
    token lifetimes default to `--token-lifetime` instead. A `switch` flag takes no value
    and sets the keyword to `switch`.
    """

    parameter: str
    flag: str
    help: str
    kind: Callable[[str], Any] = float
    metavar: str = "SECONDS"
    default: Any = None
    switch: bool | None = None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.switch is not None:
            parser.add_argument(
                self.flag, dest=self.parameter, action="store_const", const=self.switch,
                default=None, help=self.help,
            )  # fmt: skip
            return
        parser.add_argument(
            self.flag, dest=self.parameter, type=self.kind, default=None,
            metavar=self.metavar, help=self.help + self._shown_default(),
        )  # fmt: skip

    def _shown_default(self) -> str:
        if self.parameter in _DEFAULTED_BY_FLAGS:
            return ""  # their help names the flag they default to
        default = self.default if self.default is not None else _emulator_default(self.parameter)
        return f" (default {default:g})" if isinstance(default, float) else f" (default {default})"


def _emulator_default(parameter: str) -> Any:
    found = inspect.signature(Emulator).parameters[parameter].default
    return None if found is inspect.Parameter.empty else found


_LIFETIMES = ("session_token_lifetime", "km_token_lifetime")
"""Keywords that default to `--token-lifetime`."""
_DEFAULTED_BY_FLAGS = (*_LIFETIMES, "authorization_token_lifetime")

EMULATOR_FLAGS: tuple[EmulatorFlag, ...] = (
    EmulatorFlag("host", "--host", "address to listen on", str, "HOST"),
    EmulatorFlag("http_port", "--port", "HTTP port (0: any free one)", int, "PORT", 8080),
    EmulatorFlag("https_port", "--https-port", "HTTPS port (0: any free one)", int, "PORT", 8443),
    EmulatorFlag(
        "session_token_lifetime", "--session-token-lifetime",
        "seconds a session token lives (default: --token-lifetime)",
    ),
    EmulatorFlag(
        "km_token_lifetime", "--km-token-lifetime",
        "seconds a Key Manager token lives (default: --token-lifetime)",
    ),
    EmulatorFlag(
        "authorization_token_lifetime", "--authorization-token-lifetime",
        "seconds the authorizationToken of a login lives (default: --access-token-lifetime; "
        "--no-expiry-hint: none is issued)",
    ),
    EmulatorFlag(
        "access_token_lifetime", "--access-token-lifetime",
        "seconds a short-lived access token (authorizationToken, /login/idm/tokens) lives",
    ),
    EmulatorFlag(
        "clock_offset", "--clock-offset",
        "seconds the servers' clock is ahead of this machine's (negative: behind)",
    ),
    EmulatorFlag(
        "visibility_timeout", "--visibility-timeout",
        "seconds before an unacknowledged datafeed batch is delivered again",
    ),
    EmulatorFlag(
        "long_poll_timeout", "--long-poll-timeout",
        "seconds a datafeed read waits for events before answering an empty batch",
    ),
    EmulatorFlag("feed_ttl", "--feed-ttl", "seconds a datafeed lives without being read"),
    EmulatorFlag("max_batch", "--max-batch", "most events one datafeed read returns", int, "N"),
    EmulatorFlag(
        "max_feeds_per_user", "--max-feeds-per-user",
        "datafeeds a user may have before reads are refused (403)", int, "N",
    ),
    EmulatorFlag(
        "strict_content_type", "--lenient-content-type",
        "accept a Content-Type header on certificate login, for older clients (Symphony "
        "refuses one since March 2025; a body is refused either way)",
        switch=False,
    ),
)  # fmt: skip
"""One row per `Emulator(...)` keyword: tests/test_cli.py checks that none is missing."""


@frozen(kw_only=True)
class EmulatorOptions:
    """What `symbot emulator` was asked for: `emulator` holds the `Emulator(...)` keywords."""

    emulator: Mapping[str, Any] = field(factory=dict)
    bot_username: str = "mybot"
    directory: Path = Path("symbot-emulator")
    private_key: Path | None = None
    key_bits: int = 2048
    users: Sequence[str] = ("alice", "bob")
    app_id: str | None = None
    chat: bool = False


def add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """The `symbot emulator` flags: `EMULATOR_FLAGS`, then the account and chat options."""
    for flag in EMULATOR_FLAGS:
        flag.add_to(parser)
    parser.add_argument(
        "--token-lifetime", type=float, default=TOKEN_LIFETIME, metavar="SECONDS",
        help=f"seconds every token lives unless set one by one (default {TOKEN_LIFETIME:g})",
    )  # fmt: skip
    parser.add_argument(
        "--no-expiry-hint",
        action="store_true",
        help="issue no authorizationToken (bots then need max_token_age)",
    )
    parser.add_argument("--bot-username", default="mybot", help="the bot account's username")
    parser.add_argument(
        "--dir", type=Path, default=Path("symbot-emulator"), help="where keys and configs go"
    )
    parser.add_argument(
        "--private-key", type=Path, help="use this RSA key (e.g. from symbot keygen)"
    )
    parser.add_argument("--key-bits", type=int, default=2048, choices=[2048, 3072, 4096])
    parser.add_argument(
        "--users", default="alice,bob", help="comma-separated people (IM each, room #general)"
    )
    parser.add_argument(
        "--app-id", help="also register an app with this id (key in --dir; [app] in symbot.toml)"
    )
    parser.add_argument("--chat", action="store_true", help="type as the first user")


def emulator_options(args: argparse.Namespace) -> EmulatorOptions:
    """The parsed flags as options: only the keywords given (or defaulted by the command
    itself) are passed to `Emulator(...)`, so its own defaults stay its own."""
    keywords: dict[str, Any] = {}
    for flag in EMULATOR_FLAGS:
        value = getattr(args, flag.parameter)
        if value is None and flag.parameter in _LIFETIMES:
            value = args.token_lifetime
        if value is None and flag.parameter == "authorization_token_lifetime":
            value = args.access_token_lifetime
            if value is None:
                value = _emulator_default("access_token_lifetime")
        if value is None:
            value = flag.default
        if value is not None:
            keywords[flag.parameter] = value
    if args.no_expiry_hint:
        keywords["authorization_token_lifetime"] = None
    return EmulatorOptions(
        emulator=keywords,
        bot_username=args.bot_username,
        directory=args.dir,
        private_key=args.private_key,
        key_bits=args.key_bits,
        users=[name.strip() for name in args.users.split(",") if name.strip()],
        app_id=args.app_id,
        chat=args.chat,
    )


def run_emulator(args: argparse.Namespace) -> int:
    """`symbot emulator`: serve until Ctrl-C; 1 with one plain sentence when it cannot."""
    from symbot.logs import configure_logging

    configure_logging(args.log_level, structured=args.log_json)
    options = emulator_options(args)
    try:
        anyio.run(lambda: serve_emulator(options, sys.stdout), backend=args.backend)
    except OSError as exc:  # a port in use, a directory that cannot be written, a missing key
        if exc.errno == errno.EADDRINUSE:
            ports = f"{options.emulator.get('http_port')} or {options.emulator.get('https_port')}"
            host = options.emulator.get("host", _emulator_default("host"))
            problem = f"port {ports} on {host} is in use; choose others with "
            fix = "--port and --https-port (0: any free port)"
        else:
            problem, fix = (
                f"{exc.filename}: {exc.strerror or exc}; ",
                "check --dir and --private-key",
            )
        print(f"symbot emulator: {problem}{fix}", file=sys.stderr)
        return 1
    return 0


def _bot_public_key(options: EmulatorOptions, out: TextIO) -> tuple[Path, bytes]:
    """The bot's key file and public key: `--private-key`, the one kept in `--dir` from an
    earlier run, or a new one written there (mode 0600)."""
    path = options.private_key or options.directory / f"{options.bot_username}-private-key.pem"
    if path.exists():
        key = load_private_key(path)
        print(f"using the bot's private key {path}", file=out)
    else:
        if options.private_key is not None:
            raise FileNotFoundError(2, "--private-key does not exist", str(path))
        print(f"generating a {options.key_bits}-bit RSA key for {options.bot_username}", file=out)
        pair = generate_key_pair(options.key_bits)
        write_private_key(path, pair.private_key_pem)
        key = load_private_key(pair.private_key_pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path.resolve(), public


def _app_key(emu: Emulator, options: EmulatorOptions) -> Path | None:
    """`--app-id`: register the app with a key kept in `--dir` (made on the first run)."""
    if options.app_id is None:
        return None
    path = options.directory / f"{options.app_id}-app-private-key.pem"
    if not path.exists():
        write_private_key(path, generate_key_pair(options.key_bits).private_key_pem)
    public = (
        load_private_key(path)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    emu.add_app(options.app_id, public_key_pem=public)
    return path.resolve()


def _certificate_toml(pod_url: str, ca: Path, cert: Path, key: Path) -> str:
    return "\n".join(
        [
            "# symbot configuration for the symbot emulator: client certificate login",
            f"pod_url = {json.dumps(pod_url)}",
            f"ca_bundle = {json.dumps(str(ca))}",
            "",
            "[auth]",
            'type = "certificate"',
            f"certificate = {json.dumps(str(cert))}",
            f"key = {json.dumps(str(key))}",
            "",
        ]
    )


async def serve_emulator(
    options: EmulatorOptions, out: TextIO, *, read_line: ReadLine = read_stdin_line
) -> None:
    """Set up and serve until SIGINT/SIGTERM (or the end of `--chat` input)."""
    directory = options.directory
    directory.mkdir(parents=True, exist_ok=True)
    key_path, public_key = _bot_public_key(options, out)
    emu = Emulator(**options.emulator)
    bot = emu.add_user(options.bot_username, public_key_pem=public_key)
    people = [emu.add_user(name) for name in options.users]
    app_key = _app_key(emu, options)
    ims = {person.username: emu.create_im(bot.username, person.username) for person in people}
    room = emu.create_room(ROOM, [*options.users, bot.username]) if people else None
    async with emu:
        ca = directory / "emulator-ca.pem"
        ca.write_bytes(emu.ca_pem)
        cert, cert_key = emu.issue_certificate(bot.username).write_pem(directory)
        rsa_toml = emulator_config_toml(
            pod_url=emu.https_url,
            username=bot.username,
            private_key=key_path,
            ca_bundle=ca.resolve(),
            app_id=options.app_id,
            app_private_key=app_key,
        )
        config = directory / "symbot.toml"
        config.write_text(rsa_toml, encoding="utf-8")
        cert_config = directory / "symbot-cert.toml"
        cert_config.write_text(
            _certificate_toml(emu.https_url, ca.resolve(), cert.resolve(), cert_key.resolve()),
            encoding="utf-8",
        )
        async with anyio.create_task_group() as tg:
            await tg.start(_stop_on_signal, tg.cancel_scope)  # Ctrl-C after the banner: clean
            _print_banner(out, emu, options, bot.user_id, ims, room, config, cert_config, rsa_toml)
            tg.start_soon(_print_messages, emu, out)
            if options.chat and people:
                person = people[0].username
                chat = _Chat(emu, person, bot.username, ims[person], room)
                tg.start_soon(chat.relay, read_line, tg.cancel_scope)
    print("emulator stopped", file=out, flush=True)


def _print_banner(
    out: TextIO,
    emu: Emulator,
    options: EmulatorOptions,
    bot_id: int,
    ims: dict[str, str],
    room: str | None,
    config: Path,
    cert_config: Path,
    rsa_toml: str,
) -> None:
    lines = [
        "",
        "Symphony emulator running (Ctrl-C to stop)",
        f"  HTTPS  {emu.https_url}  pod, key manager, session auth (mutual TLS), agent",
        f"  HTTP   {emu.http_url}  the same without TLS",
        f"  CA     {options.directory / 'emulator-ca.pem'}  (trust it with ca_bundle)",
        f"  bot    {options.bot_username} (user id {bot_id})",
    ]
    for name, stream_id in ims.items():
        lines.append(f"  user   {name}: IM with the bot {stream_id}")
    if room is not None:
        lines.append(f"  room   #{ROOM} {room}: {', '.join(options.users)} and the bot")
    lifetime = options.emulator.get("session_token_lifetime", _emulator_default(_LIFETIMES[0]))
    lines.append(f"  tokens live {lifetime:g} s")
    if options.emulator.get("strict_content_type") is False:
        lines.append("  certificate login accepts a Content-Type (--lenient-content-type)")
    if options.app_id is not None:
        lines.append(f"  app    {options.app_id}: may act on behalf of every user (OBO)")
    clock_offset = options.emulator.get("clock_offset", 0.0)
    if clock_offset:
        lines.append(f"  clock  {clock_offset:+g} s from this machine's")
    lines += [
        "",
        f"Wrote {config} (RSA login) and {cert_config} (certificate login):",
        "",
        rsa_toml.rstrip("\n"),
        "",
        f"Try: symbot check -c {config}",
        f"     symbot run examples/echo_bot.py:EchoBot -c {config}",
    ]
    print("\n".join(lines), file=out, flush=True)


async def _stop_on_signal(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            scope.cancel()
            return


async def _print_messages(emu: Emulator, out: TextIO) -> None:
    """Print every message as it is sent: `12:00:01 mybot → alice: hello`."""
    printed = 0
    while True:
        messages = emu.sent_messages()
        for sent in messages[printed:]:
            clock = time.strftime("%H:%M:%S", time.localtime(sent.timestamp / 1000))
            where = _place(emu, sent.stream_id, sent.sender)
            print(f"{clock} {sent.sender} → {where}: {sent.text}", file=out, flush=True)
        printed = len(messages)
        await anyio.sleep(0.05)


def _place(emu: Emulator, stream_id: str, sender: str) -> str:
    record = emu.stream_store.stream(stream_id)
    if record.room_name is not None:
        return f"#{record.room_name}"
    others = [member for member in record.members if member != sender]
    return ", ".join(others) or stream_id


@frozen
class _Chat:
    """`--chat`: typed lines go into `person`'s IM with the bot, or with `#general ...` into
    the room, mentioning the bot. The emulator prints the messages (`_print_messages`)."""

    emu: Emulator
    person: str
    bot: str
    im: str
    room: str | None

    async def relay(self, read_line: ReadLine, scope: anyio.CancelScope) -> None:
        await relay_lines(read_line, f"{self.person}> ", self.say)
        scope.cancel()

    async def say(self, line: str | None) -> bool:
        """Send one typed line; False at the end of input or on /quit."""
        text = (line or "").strip()
        if line is None or text == "/quit":
            return False
        if text.startswith(f"#{ROOM}") and self.room is not None:
            room_text = text.removeprefix(f"#{ROOM}").strip()
            self.emu.send(self.person, self.room, room_text, mentions=[self.bot])
        elif text:
            self.emu.send(self.person, self.im, text)
        await anyio.sleep(0.5)  # let the bot's answer print before the next prompt
        return True
