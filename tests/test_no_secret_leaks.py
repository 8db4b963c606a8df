"""No secret from a configuration reaches a log line, a repr, an exception (or its chain) or
the output of `symbot check` and `symbot run`.

One walk over every secret-bearing configuration key, from the TOML file and from `SYMBOT_*`
environment variables: each case puts a secret (a marker, or the base64 lines of a real key)
in one key, then loads the configuration, starts the bot the way `symbot run` does, runs
`symbot check` and `symbot run` with DEBUG logs against a served emulator, and asserts the
secret is nowhere in what came out: repr and str of the configuration, every exception with
its `__cause__`/`__context__` chain and attributes, every log record, every printed line.
"""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal
from cryptography.hazmat.primitives import serialization

from symbot.auth import generate_key_pair
from symbot.cli import load_bot_class, main
from symbot.config import CONFIG_KEYS, BotConfig
from symbot.emulator import Emulator
from symbot.emulator._ca import IssuedCertificate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TARGET = f"{EXAMPLES / 'echo_bot.py'}:EchoBot"
MARKER = "Zq7Xw3MARKERvK9p"
NUMERIC = 918273645501
CLOSED_PORT = 9  # discard: nothing listens on loopback


@dataclass
class Stage:
    """The served emulator and the material the cases use."""

    emu: Emulator
    directory: Path
    bot_key: Path  # registered for `bot`: logins succeed with it
    stranger_pem: str  # a valid RSA key nobody registered: logins are refused
    rotated_pem: str  # another unregistered key, for previous_private_key
    encrypted_key: Path  # the registered key, encrypted with another passphrase
    certificate: IssuedCertificate  # CN "nobody": certificate logins are refused
    encrypted_certificate_key: Path
    p12: Path


@dataclass
class Case:
    """One secret in one key. `values` (configuration keys) go to the file or to `SYMBOT_*`
    variables; `extra` completes the configuration in the file; `needles` appear nowhere."""

    name: str
    values: dict[str, Any]
    needles: list[str]
    extra: dict[str, Any] = field(default_factory=dict)
    secret_env: dict[str, str] = field(default_factory=dict)


def _body(pem: str | bytes) -> list[str]:
    """The base64 lines of a PEM block: the secret part of a key."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    return [line for line in text.splitlines() if line and not line.startswith("-----")]


def _proxy(password: str) -> str:
    return f"http://proxyuser:{password}@127.0.0.1:{CLOSED_PORT}"


def _cases(stage: Stage) -> list[Case]:
    stranger = stage.stranger_pem
    certificate = stage.certificate
    fake_pem = f"-----BEGIN PRIVATE KEY-----\n{MARKER}{MARKER}\n-----END PRIVATE KEY-----\n"
    proxy_needles = [MARKER, base64.b64encode(f"proxyuser:{MARKER}".encode()).decode()]
    rsa = {"auth.username": "bot"}
    refused = {**rsa, "auth.private_key": stranger}
    encrypted = {**rsa, "auth.private_key": str(stage.encrypted_key)}
    certificate_file, _ = certificate.write_pem(stage.directory / "cert-plain")
    cases = [
        Case("PEM text", {"auth.private_key": stranger}, _body(stranger), rsa),
        Case(
            "PEM text with \\n for line breaks",
            {"auth.private_key": stranger.replace("\n", "\\n")},
            _body(stranger),
            rsa,
        ),
        Case("broken PEM text", {"auth.private_key": fake_pem}, [MARKER], rsa),
        Case(
            "a key without its PEM lines",
            {"auth.private_key": "".join(_body(stranger))},
            _body(stranger),
            rsa,
        ),
        Case("passphrase", {"auth.passphrase": MARKER}, [MARKER], encrypted),
        Case("numeric passphrase", {"auth.passphrase": NUMERIC}, [str(NUMERIC)], encrypted),
        Case(
            "passphrase from the environment",
            {"auth.passphrase_env": "BOT_KEY_SECRET"},
            [MARKER],
            encrypted,
            {"BOT_KEY_SECRET": MARKER},
        ),
        Case(
            "previous key",
            {"auth.previous_private_key": stage.rotated_pem, "auth.private_key": stranger},
            _body(stage.rotated_pem) + _body(stranger),
            rsa,
        ),
        Case(
            "previous passphrase",
            {"auth.previous_passphrase": MARKER},
            [MARKER],
            {**refused, "auth.previous_private_key": str(stage.encrypted_key)},
        ),
        Case(
            "certificate PEM text with its key",
            {"auth.certificate": (certificate.cert_pem + certificate.key_pem).decode()},
            _body(certificate.key_pem),
        ),
        Case(
            "certificate key as PEM text",
            {"auth.key": certificate.key_pem.decode()},
            _body(certificate.key_pem),
            {"auth.certificate": str(certificate_file)},
        ),
        Case(
            "certificate key password",
            {"auth.password": MARKER},
            [MARKER],
            {
                "auth.certificate": str(certificate_file),
                "auth.key": str(stage.encrypted_certificate_key),
            },
        ),
        Case(
            "PKCS#12 password from the environment",
            {"auth.password_env": "BOT_P12_SECRET"},
            [MARKER],
            {"auth.p12": str(stage.p12)},
            {"BOT_P12_SECRET": MARKER},
        ),
        Case("proxy password", {"proxy": _proxy(MARKER)}, proxy_needles, refused),
    ]
    cases += [
        Case(f"{role} proxy password", {f"proxies.{role}": _proxy(MARKER)}, proxy_needles, refused)
        for role in ("pod", "agent", "key_manager", "session_auth")
    ]
    served = stage.emu.https_url.removeprefix("https://")
    cases += [
        Case(
            f"password in {key}",
            {key: f"https://user:{MARKER}@{served}"},
            [MARKER],
            {**rsa, "auth.private_key": str(stage.bot_key)},
        )
        for key in ("pod_url", "agent_url", "key_manager_url", "session_auth_url")
    ]
    return cases


SECRET_KEYS = {key.key for key in CONFIG_KEYS if key.secret} | {
    "auth.passphrase_env",
    "auth.password_env",
    "pod_url",
    "agent_url",
    "key_manager_url",
    "session_auth_url",
}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    directory = tmp_path_factory.mktemp("secrets")
    emu = Emulator()
    emu.add_user("bot")
    bot_key = emu.user("bot").write_private_key(directory / "bot.pem")
    key = serialization.load_pem_private_key(bot_key.read_bytes(), password=None)
    encrypted_key = directory / "bot-encrypted.pem"
    encrypted_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"the real passphrase"),
        )
    )
    encrypted_key.chmod(0o600)
    certificate = emu.issue_certificate("bot", common_name="nobody")
    _, encrypted_certificate_key = certificate.write_pem(
        directory / "cert-encrypted", passphrase="the real password"
    )
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(emu):
        yield Stage(
            emu=emu,
            directory=directory,
            bot_key=bot_key,
            stranger_pem=generate_key_pair(2048).private_key_pem.decode(),
            rotated_pem=generate_key_pair(2048).private_key_pem.decode(),
            encrypted_key=encrypted_key,
            certificate=certificate,
            encrypted_certificate_key=encrypted_certificate_key,
            p12=certificate.write_p12(directory / "bot.p12", "the real password"),
        )


def _toml_value(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if "\n" in value:
        return f'"""\n{value}"""'
    if "\\" in value:
        return f"'{value}'"  # a literal string: the backslashes stay
    return f'"{value}"'


def _write_config(stage: Stage, case: Case, source: str, path: Path) -> dict[str, str]:
    """Write the TOML file of `case` to `path`; return the environment variables it needs."""
    values = {"pod_url": stage.emu.https_url, "ca_bundle": str(stage.emu.ca_bundle)}
    values |= case.extra
    env = dict(case.secret_env)
    if source == "file":
        values |= case.values
    else:
        env |= {"SYMBOT_" + k.upper().replace(".", "_"): str(v) for k, v in case.values.items()}
    tables: dict[str, list[str]] = {"": [], "retry": ["initial = 0.01", "maximum = 0.02",
                                                     "max_attempts = 2"]}  # fmt: skip
    for key, value in values.items():
        table, _, name = key.rpartition(".")
        tables.setdefault(table, []).append(f"{name} = {_toml_value(value)}")
    lines = tables.pop("")
    for table, entries in tables.items():
        lines += [f"[{table}]", *entries]
    path.write_text("\n".join(lines) + "\n")
    return env


def _exception_texts(exc: BaseException | None, seen: set[int] | None = None) -> list[str]:
    """Everything an exception can show: str, repr, attributes, traceback, the whole chain."""
    seen = set() if seen is None else seen
    if exc is None or id(exc) in seen:
        return []
    seen.add(id(exc))
    texts = [str(exc), repr(exc), *(repr(v) for v in vars(exc).values())]
    texts += traceback.format_exception(exc)
    for inner in [exc.__cause__, exc.__context__, *getattr(exc, "exceptions", ())]:
        texts += _exception_texts(inner, seen)
    return texts


def _start_like_run(path: Path) -> tuple[bool, list[str]]:
    """What `symbot run` does, keeping the exception: load, build the bot, serve. Returns
    whether start-up failed (as each case makes it), and all there is to read."""
    texts: list[str] = []
    try:
        config = BotConfig.from_file(path)
        texts += [repr(config), str(config), repr(config.auth)]
        bot = load_bot_class(TARGET)(config)

        async def serve() -> None:
            with anyio.move_on_after(10):
                await bot.serve()

        anyio.run(serve)
    except (Exception, BaseExceptionGroup) as exc:
        return True, texts + _exception_texts(exc)
    return False, texts


def _where(text: str, needle: str, case: str) -> str:
    """The leak in its context, the secret itself cut short."""
    at = text.index(needle)
    return f"{case}: …{text[max(0, at - 120) : at]}<{needle[:6]}…>"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_every_secret_bearing_key_has_a_case(stage: Stage) -> None:
    covered = {key for case in _cases(stage) for key in case.values}
    assert covered >= SECRET_KEYS, f"no case for {sorted(SECRET_KEYS - covered)}"


@pytest.mark.parametrize("source", ["file", "environment"])
def test_no_configured_secret_reaches_logs_reprs_errors_or_cli_output(
    stage: Stage,
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    leaks: list[str] = []
    for number, case in enumerate(_cases(stage)):
        path = tmp_path / f"case{number}.toml"
        with monkeypatch.context() as env_patch:
            for name, value in _write_config(stage, case, source, path).items():
                env_patch.setenv(name, value)
            with caplog.at_level(logging.DEBUG):
                failed, texts = _start_like_run(path)
                if not failed:
                    leaks.append(f"{source} / {case.name}: the bot started")
                    continue
                status, printed = _cli(["check", "-c", str(path), "--log-level", "DEBUG"], capsys)
                assert status == 1, f"{case.name}: check passed\n{printed}"
                texts.append(printed)
                argv = ["run", TARGET, "-c", str(path), "--log-level", "DEBUG"]
                status, printed = _cli(argv, capsys)
                assert status == 1, f"{case.name}: run did not fail at start-up\n{printed}"
                texts.append(printed)
            for record in caplog.records:
                texts.append(record.getMessage())
                if record.exc_info:
                    texts += _exception_texts(record.exc_info[1])
            caplog.clear()
        everything = "\n".join(texts)
        leaks += [
            _where(everything, n, f"{source} / {case.name}")
            for n in case.needles
            if n in everything
        ]
    logging.getLogger().handlers[:] = [
        h for h in logging.getLogger().handlers if h.get_name() != "symbot"
    ]
    assert leaks == []
