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
    for table, name_key, name, key in (
        ("auth", "username", username, private_key),
        ("app", "app_id", app_id, app_private_key),
    ):
        if name is not None and key is not None:
            lines += ["", f"[{table}]", f"{name_key} = {_toml_string(name)}"]
            lines.append(f"private_key = {_toml_string(str(key))}")
    lines.append("")
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON string escapes are a subset of TOML's."""
    return json.dumps(value)
