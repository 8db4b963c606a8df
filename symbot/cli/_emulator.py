"""`symbot emulator`: a standalone Symphony emulator to develop a bot against.

It serves the pod, Key Manager, session auth and agent on loopback (HTTPS with its own CA,
and plain HTTP), creates a bot account whose key lives in `--dir`, a few people with an IM
each and a room, writes a ready `symbot.toml` (RSA) and `symbot-cert.toml` (client
certificate), prints them, and runs until Ctrl-C. Every message is printed as it is sent,
and with `--chat` you type as the first person, to talk to your bot.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import anyio
from attrs import frozen
from cryptography.hazmat.primitives import serialization

from symbot.auth import generate_key_pair, load_private_key, write_private_key
from symbot.demo._interactive import ReadLine, relay_lines
from symbot.emulator import Emulator, emulator_config_toml

__all__ = ["EmulatorOptions", "serve_emulator"]

ROOM = "general"


@frozen(kw_only=True)
class EmulatorOptions:
    host: str = "127.0.0.1"
    http_port: int = 8080
    https_port: int = 8443
    bot_username: str = "mybot"
    directory: Path = Path("symbot-emulator")
    private_key: Path | None = None
    key_bits: int = 2048
    users: Sequence[str] = ("alice", "bob")
    token_lifetime: float = 3600.0
    expiry_hint: bool = True
    access_token_lifetime: float = 300.0
    clock_offset: float = 0.0
    app_id: str | None = None
    chat: bool = False


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
    options: EmulatorOptions, out: TextIO, *, read_line: ReadLine = input
) -> None:
    """Set up and serve until SIGINT/SIGTERM (or the end of `--chat` input)."""
    directory = options.directory
    directory.mkdir(parents=True, exist_ok=True)
    key_path, public_key = _bot_public_key(options, out)
    lifetime = options.token_lifetime
    emu = Emulator(
        host=options.host,
        http_port=options.http_port,
        https_port=options.https_port,
        session_token_lifetime=lifetime,
        km_token_lifetime=lifetime,
        authorization_token_lifetime=options.access_token_lifetime if options.expiry_hint else None,
        access_token_lifetime=options.access_token_lifetime,
        clock_offset=options.clock_offset,
    )
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
        _print_banner(out, emu, options, bot.user_id, ims, room, config, cert_config, rsa_toml)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_on_signal, tg.cancel_scope)
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
    if options.app_id is not None:
        lines.append(f"  app    {options.app_id}: may act on behalf of every user (OBO)")
    if options.clock_offset:
        lines.append(f"  clock  {options.clock_offset:+g} s from this machine's")
    lines += [
        f"  tokens live {options.token_lifetime:g} s",
        "",
        f"Wrote {config} (RSA login) and {cert_config} (certificate login):",
        "",
        rsa_toml.rstrip("\n"),
        "",
        f"Try: symbot check -c {config}",
        f"     symbot run examples/echo_bot.py:EchoBot -c {config}",
    ]
    print("\n".join(lines), file=out, flush=True)


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
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
