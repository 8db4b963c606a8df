"""Ready symbot.toml files for a bot (and an app) against an emulator."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["emulator_config_toml"]


def emulator_config_toml(
    *,
    pod_url: str,
    username: str | None = None,
    private_key: Path | str | None = None,
    ca_bundle: Path | str | None = None,
    app_id: str | None = None,
    app_private_key: Path | str | None = None,
) -> str:
    """A ready symbot.toml: every role on `pod_url`, trusting `ca_bundle` when given; RSA
    login as `username` with the key file `private_key` (`[auth]`), and the app `app_id`
    with the key file `app_private_key` (`[app]`), each when given."""
    lines = [
        "# symbot configuration for the symbot emulator",
        f"pod_url = {_toml_string(pod_url)}",
    ]
    if ca_bundle is not None:
        lines.append(f"ca_bundle = {_toml_string(str(ca_bundle))}")
    if username is not None and private_key is not None:
        lines += [
            "",
            "[auth]",
            f"username = {_toml_string(username)}",
            f"private_key = {_toml_string(str(private_key))}",
        ]
    if app_id is not None and app_private_key is not None:
        lines += [
            "",
            "[app]",
            f"app_id = {_toml_string(app_id)}",
            f"private_key = {_toml_string(str(app_private_key))}",
        ]
    lines.append("")
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON string escapes are a subset of TOML's."""
    return json.dumps(value)
