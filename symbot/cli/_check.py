"""`symbot check -c symbot.toml`: can this bot run, and if not, what to fix.

Each step is printed as it completes. The pod (or session auth) login and the Key Manager
login are tried one after the other and each gets its own verdict, so a refusal by one never
hides what the other answered (`$POD` stands for pod_url here):

    config    symbot.toml: RSA login as mybot on https://acme.symphony.com
    keys      credentials loaded
    login     pod: OK in 41 ms: POST $POD/login/pubkey/authenticate as 'mybot'
              tokens used until a 401 (they live as the pod's policy says, announced by nothing)
    login     key manager: OK in 12 ms: POST $POD/relay/pubkey/authenticate as 'mybot'
    session   mybot, user id 349026222344902 (My Bot)
    agent     datafeeds readable (1 with the tag 'symbot-mybot')
    app       my-app: OK in 30 ms: POST $POD/login/pubkey/app/authenticate
    obo       alice, user id 349026222344903: the app acts on their behalf

    All checks passed: this bot can log in and read its datafeed; the app can log in.

A refusal names the endpoint, the user, the status and what the server said, then what to
check; the session and agent steps run only when both logins passed, and the exit status is 1
if anything failed. With `[app]`, the app logs in too, and with `app.check_username` it
acts on that user's behalf; a configuration with `[app]` alone checks the app alone. Network
trouble is retried only briefly here (a check should answer quickly).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from attrs import evolve

from symbot.apps import App
from symbot.auth import (
    AuthProvider,
    CertificateLogin,
    EndpointAuthProvider,
    LoginRole,
    key_file_warnings,
)
from symbot.client import SymphonyClient
from symbot.config import BotConfig
from symbot.errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    KeyLoadError,
    NetworkError,
    SymbotError,
)
from symbot.transport import Transport, as_list

__all__ = ["check"]

_STEP_WIDTH = 9
APP_LOGIN = "/login/pubkey/app/authenticate"

CONTENT_TYPE_CAUSE = (
    "or that nothing between the bot and the pod (a proxy, an API gateway) adds a Content-Type "
    "header or a body to the login request: since March 2025 Symphony answers 401 to a "
    "certificate login that carries a Content-Type (symbot sends none)"
)
"""A cause of a certificate-login 401 that the provider's hint cannot know about: Symphony's
"backward compatibility breaking notice" on its Session Authenticate (Cert) page."""


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

    def problem(
        self, name: str, problem: str, fix: str, *, label: str = "Fix", prefix: str = ""
    ) -> bool:
        """Print one failed step (and carry on); always False."""
        self.step(name, f"{prefix}FAILED: {problem}\n{label}: {fix}")
        return False

    def stop(self, failures: int = 1) -> bool:
        """Close the report after failed steps; always False."""
        what = "this is" if failures == 1 else "these are"
        print(f"\nThe bot cannot run until {what} fixed.", file=self.out)
        return False

    def failed(self, name: str, problem: str, fix: str, *, label: str = "Fix") -> bool:
        """Print a failed step that ends the check; always False."""
        self.problem(name, problem, fix, label=label)
        return self.stop()


def _per_endpoint(provider: AuthProvider) -> EndpointAuthProvider:
    """The provider, if it can log in to one endpoint at a time (the built-in ones can, and a
    configuration file only ever makes those)."""
    if isinstance(provider, EndpointAuthProvider):
        return provider
    raise TypeError(f"symbot check cannot log in with a {type(provider).__name__}")


def _describe(config: BotConfig) -> str:
    auth = config.auth
    username = getattr(auth, "username", None) or "the certificate's name (CN)"
    kind = {"RsaJwtAuth": "RSA login", "CertificateAuth": "certificate login"}.get(
        type(auth).__name__, f"{type(auth).__name__} login"
    )
    lines = [f"{kind} as {username} on {config.pod_url}" if auth is not None else config.pod_url]
    if config.app is not None:
        lines.append(f"app: {config.app.app_id}")
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
        client = SymphonyClient(config) if config.auth is not None else None
        app = App(config) if config.app is not None else None
    except ConfigError as exc:
        return report.failed("keys", f"{exc.field}: {exc.problem}", exc.fix)
    except KeyLoadError as exc:
        fix = exc.fix or "fix the key or certificate settings under [auth] or [app]"
        return report.failed("keys", f"{exc.source}: {exc.problem}", fix)
    warnings = [] if config.auth is None else key_file_warnings(config.auth)
    report.step("keys", "\n".join(["credentials loaded", *(f"WARNING: {w}" for w in warnings)]))
    if client is not None:
        async with client:
            provider = _per_endpoint(client.provider)
            logged_in = await _endpoint_logins(provider, client.transport, report)
            if not (logged_in and await _agent_steps(client, config, report)):
                return False
    if app is not None:
        async with app:
            if not await _app_steps(app, config, report):
                return False
    what = "this bot can log in and read its datafeed" if client is not None else ""
    if app is not None:
        what += ("; " if what else "") + "the app can log in"
    print(f"\nAll checks passed: {what}.", file=report.out)
    return True


async def _endpoint_logins(
    provider: EndpointAuthProvider, transport: Transport, report: _Report
) -> bool:
    """One verdict per endpoint, every endpoint tried whatever the others answered."""
    failures = 0
    for role in provider.login_roles:
        if not await _endpoint_login(provider, role, transport, report):
            failures += 1
    return failures == 0 or report.stop(failures)


async def _endpoint_login(
    provider: EndpointAuthProvider, role: LoginRole, transport: Transport, report: _Report
) -> bool:
    """Log in to `role`'s endpoint through the provider itself, so `check` sends exactly what
    the bot sends (request shape, retries, TLS verdicts, previous-key fallback)."""
    config = transport.config
    where = f"{role.replace('_', ' ')}: "
    started = time.monotonic()
    try:
        answer = await provider.login_endpoint(transport, role)
    except AuthenticationError as refused:
        hint = refused.hint
        if isinstance(provider, CertificateLogin) and refused.status == 401:
            hint += f"; {CONTENT_TYPE_CAUSE}"
        return report.problem("login", _refusal(refused), hint, label="Check", prefix=where)
    except (NetworkError, ApiError) as exc:
        return report.problem(
            "login", str(exc), _network_fix(config, config.url(role)), prefix=where
        )
    took = (time.monotonic() - started) * 1000
    text = f"OK in {took:.0f} ms: {answer.endpoint} as {provider.username!r}"
    if role != "key_manager":
        text += f"\n{_lifetime(config, answer.expires_at)}"
    if answer.current_key_refusal is not None:
        text += (
            f"\nbut only with auth.previous_private_key: the current key was refused "
            f"({_reason(answer.current_key_refusal)}); import the new public key of "
            f"{provider.username!r} on the pod before the previous one expires"
        )
    report.step("login", where + text)
    return True


def _refusal(exc: AuthenticationError) -> str:
    """`<endpoint> answered <status> for user '<name>': <what the server said>`."""
    if exc.status is None:
        return f"{exc.endpoint} refused the TLS handshake for user {exc.username!r}"
    refusal = f"{exc.endpoint} answered {exc.status} for user {exc.username!r}"
    return f"{refusal}: {exc.server_message}" if exc.server_message else refusal


def _reason(exc: AuthenticationError) -> str:
    """The refusal in short: `401: <what the server said>`."""
    if exc.status is None:
        return "TLS handshake refused"
    return f"{exc.status}: {exc.server_message}" if exc.server_message else str(exc.status)


def _lifetime(config: BotConfig, access_expires_at: float | None) -> str:
    """How the session will be kept: Symphony announces no session lifetime."""
    if config.max_token_age is None:
        text = "tokens used until a 401 (they live as the pod's policy says, announced by nothing)"
    else:
        text = f"tokens renewed every {_duration(config.max_token_age)} (max_token_age)"
    if access_expires_at is not None:
        text += (
            f"\nan access token (beta) came with it, valid "
            f"{_duration(access_expires_at - time.time())}"
        )
    return text


async def _agent_steps(client: SymphonyClient, config: BotConfig, report: _Report) -> bool:
    """Session info and the datafeed list, through the bot's own token handling (which logs
    in to both endpoints at once, as `symbot run` does)."""
    try:
        info = await client.session_info()
    except SymbotError as exc:
        return report.failed("session", str(exc), _network_fix(config, config.pod_url))
    shown = f" ({info.display_name})" if info.display_name else ""
    report.step("session", f"{info.username}, user id {info.user_id}{shown}")
    tag = config.datafeed.tag_for(info.username)
    try:
        feeds = await client.request_json(
            "agent", "GET", "/agent/v5/datafeeds", shape=as_list, params={"tag": tag}
        )
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
    report.step("agent", f"datafeeds readable ({len(feeds)} with the tag {tag!r})")
    return True


async def _app_steps(app: App, config: BotConfig, report: _Report) -> bool:
    """The app's own login, then an on-behalf-of login for `app.check_username` if set."""
    assert config.app is not None
    started = time.monotonic()
    try:
        await app.session.tokens()
    except AuthenticationError as refused:
        return report.failed("app", _refusal(refused), refused.hint, label="Check")
    except (NetworkError, ApiError) as exc:
        return report.failed("app", str(exc), _network_fix(config, config.pod_url))
    took = (time.monotonic() - started) * 1000
    report.step("app", f"{app.app_id}: OK in {took:.0f} ms: POST {config.pod_url}{APP_LOGIN}")
    username = config.app.check_username
    if username is None:
        report.step("obo", "not tried: set app.check_username to a user the app may act for")
        return True
    try:
        async with app.obo(username=username) as user:
            info = await user.session_info()
    except AuthenticationError as refused:
        return report.failed("obo", _refusal(refused), refused.hint, label="Check")
    except SymbotError as exc:
        return report.failed("obo", str(exc), _network_fix(config, config.pod_url))
    report.step("obo", f"{info.username}, user id {info.user_id}: the app acts on their behalf")
    return True


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
