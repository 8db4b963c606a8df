"""URLs in a configuration: the role base URLs and the proxies, checked once, shown safely.

A role URL (pod, agent, Key Manager, session auth) must be `https://`: the login JWT and
every token travel on it. Plain `http://` is refused except on a loopback host (the
emulator served on 127.0.0.1) or with `allow_insecure_http`. A proxy URL may be `http://`
(HTTPS is tunnelled through the proxy with CONNECT, so the proxy sees no token) and may
carry a user and password: wherever a URL is shown, `symbot.errors.redact` replaces the
password with `***`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import re

import httpx

from symbot.errors import ConfigError, redact

__all__ = ["check_proxy_url", "check_role_url", "is_loopback"]

_HOST_NAME = re.compile(r"[A-Za-z0-9._-]+")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1: traffic that never leaves the machine."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _parse(key: str, value: object, schemes: tuple[str, ...], example: str) -> httpx.URL:
    """`value` as an absolute URL with one of `schemes`, a valid host and port; no password
    in any message, and no chained exception that would show one."""
    fix = f"set {key} to a URL such as {example}"
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a URL, got {type(value).__name__}", fix)
    url = None
    with contextlib.suppress(httpx.InvalidURL):  # raised below without the parser's words,
        url = httpx.URL(value)  # which may quote a password
    if url is None:
        raise ConfigError(key, "is not a valid URL", fix)
    host = url.raw_host.decode("ascii", "replace")
    problem = ""
    if url.scheme not in schemes:
        problem = f"is not a {' or '.join(schemes)} URL"
    elif not host:
        problem = "has no host"
    elif ":" not in host and not _HOST_NAME.fullmatch(host):
        problem = "has an invalid host name"
    elif url.port is not None and not 0 < url.port < 65536:
        problem = f"has an invalid port ({url.port})"
    if problem:
        raise ConfigError(key, f"{redact(value)!r} {problem}", fix)
    return url


def check_role_url(key: str, value: object, *, allow_insecure_http: bool) -> None:
    """A role's base URL: https (or http on loopback / with the opt-in), no credentials,
    no query or fragment."""
    url = _parse(key, value, ("https", "http"), "https://acme.symphony.com")
    shown = redact(str(value))
    if url.userinfo:
        raise ConfigError(
            key,
            f"{shown!r} carries a user name or password",
            "remove it: Symphony authenticates with keys or certificates, never URL passwords",
        )
    if url.query or url.fragment:
        raise ConfigError(key, f"{shown!r} has a query or fragment", "give the base URL only")
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ConfigError(
            key,
            f"{shown!r} uses plain http, so the login JWT and every token would cross the "
            "network in clear text",
            f"use https://{shown.partition('://')[2]}; on a trusted test network only, set "
            "allow_insecure_http = true",
        )


def check_proxy_url(key: str, value: object) -> None:
    """A proxy URL: http(s) or socks5 (with httpx's `socks` extra), a host, maybe a user."""
    url = _parse(key, value, _PROXY_SCHEMES, "http://proxy.acme.com:3128")
    if url.scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
        raise ConfigError(
            key,
            "is a SOCKS proxy, which needs the socksio package",
            "install it (pip install 'httpx[socks]') or use an http:// proxy",
        )
