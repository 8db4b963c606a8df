"""`symbot check -c symbot.toml`: can this bot run, and if not, what to fix.

Each step is printed as it completes, so the first failure is the last line but one:

    config    symbot.toml: RSA login as mybot on https://acme.symphony.com
    keys      private key loaded
    login     pod and key manager: OK (tokens expire in 58 min)
    session   mybot, user id 349026222344902 (My Bot)
    agent     datafeeds readable (1 with this bot's tag)
    All checks passed.

A failure says which endpoint refused what, and the fix; the exit status is 1. Network
trouble is retried only briefly here (a check should answer quickly).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

import httpx
from attrs import evolve

from symbot.client import SymphonyClient
from symbot.config import BotConfig
from symbot.errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    KeyLoadError,
    SymbotError,
    TransportError,
)

__all__ = ["check"]

_STEP_WIDTH = 9


class _Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def step(self, name: str, text: str) -> None:
        pad = " " * (_STEP_WIDTH + 1)
        lines = text.splitlines() or [""]
        print(f"{name:<{_STEP_WIDTH}} {lines[0]}", file=self.out)
        for line in lines[1:]:
            print(pad + line, file=self.out)
        self.out.flush()

    def failed(self, name: str, problem: str, fix: str, *, label: str = "Fix") -> bool:
        self.step(name, f"FAILED: {problem}\n{label}: {fix}")
        print("\nThe bot cannot run until this is fixed.", file=self.out)
        return False


def _describe(config: BotConfig) -> str:
    auth = config.auth
    username = getattr(auth, "username", None) or "the certificate's name (CN)"
    kind = {"RsaJwtAuth": "RSA login", "CertificateAuth": "certificate login"}.get(
        type(auth).__name__, f"{type(auth).__name__} login"
    )
    lines = [f"{kind} as {username} on {config.pod_url}"]
    for role, url in (
        ("agent", config.agent_url),
        ("key manager", config.key_manager_url),
        ("session auth", config.session_auth_url),
    ):
        if url != config.pod_url:
            lines.append(f"{role}: {url}")
    return "\n".join(lines)


def _network_fix(config: BotConfig, what: str) -> str:
    trust = f"the CA bundle {config.ca_bundle}" if config.ca_bundle else "the system CAs"
    return (
        f"make sure {what} is reachable from this machine (URL, port, proxy, firewall) and "
        f"that its TLS certificate is trusted by {trust} (set ca_bundle if it is a private CA)"
    )


async def check(path: Path, out: TextIO) -> bool:
    """Run every step against the deployment `path` describes; True when all passed."""
    report = _Report(out)
    try:
        config = BotConfig.from_file(path)
    except ConfigError as exc:
        return report.failed("config", f"{exc.field}: {exc.problem}", exc.fix)
    report.step("config", f"{path}: {_describe(config)}")
    brief = evolve(config.retry, max_attempts=2, initial=0.2, maximum=1.0)
    config = evolve(config, retry=brief)
    try:
        client = SymphonyClient(config)
    except (KeyLoadError, ConfigError) as exc:
        return report.failed("keys", str(exc), "fix the key or certificate settings under [auth]")
    report.step("keys", "credentials loaded")
    async with client:
        return await _online_steps(client, config, report)


async def _online_steps(client: SymphonyClient, config: BotConfig, report: _Report) -> bool:
    started = time.monotonic()
    try:
        tokens = await client.session.tokens()
    except AuthenticationError as exc:
        return report.failed(
            "login",
            f"{exc.endpoint} answered {exc.status} for user {exc.username!r}",
            exc.hint,
            label="Check",
        )
    except (TransportError, ApiError) as exc:
        return report.failed("login", str(exc), _network_fix(config, "every login endpoint"))
    expiry = "expiry not announced by the pod"
    if tokens.expires_at is not None:
        expiry = f"tokens expire in {_duration(tokens.expires_at - time.time())}"
    took = (time.monotonic() - started) * 1000
    where = "session auth" if type(config.auth).__name__ == "CertificateAuth" else "pod"
    report.step("login", f"{where} and key manager: OK in {took:.0f} ms ({expiry})")
    try:
        info = await client.session_info()
    except SymbotError as exc:
        return report.failed("session", str(exc), _network_fix(config, config.pod_url))
    shown = f" ({info.display_name})" if info.display_name else ""
    report.step("session", f"{info.username}, user id {info.user_id}{shown}")
    tag = config.datafeed.tag_for(info.username)
    try:
        response = await client.request("agent", "GET", "/agent/v5/datafeeds", params={"tag": tag})
    except ApiError as exc:
        fix = (
            "the agent refused the tokens: check that agent_url and key_manager_url belong "
            "to the same deployment as pod_url"
            if exc.status in (401, 403)
            else _network_fix(config, config.agent_url)
        )
        return report.failed("agent", str(exc), fix)
    except SymbotError as exc:
        return report.failed("agent", str(exc), _network_fix(config, config.agent_url))
    report.step("agent", f"datafeeds readable ({_count(response)} with the tag {tag!r})")
    print("\nAll checks passed: this bot can log in and read its datafeed.", file=report.out)
    return True


def _count(response: httpx.Response) -> int:
    try:
        feeds = response.json()
    except ValueError:
        return 0
    return len(feeds) if isinstance(feeds, list) else 0


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
