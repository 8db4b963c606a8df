"""`symbot run --health-port` as a container runs it: a real process, the key passed as PEM
text in `SYMBOT_AUTH_PRIVATE_KEY` (the file holds no secret), probes and a scrape over real
HTTP, then SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process

from symbot.emulator import Emulator

from .support import get, parse_prometheus

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SERVING = re.compile(rb"health and metrics on (http://127\.0\.0\.1:\d+)")


async def test_run_serves_probes_and_metrics_with_the_key_from_the_environment(
    tmp_path: Path,
) -> None:
    async with Emulator() as emu:
        bot = emu.add_user("bot")
        assert bot.private_key_pem is not None
        config = tmp_path / "symbot.toml"
        config.write_text(
            f'pod_url = "{emu.https_url}"\nca_bundle = "{emu.ca_bundle}"\n\n'
            '[auth]\nusername = "bot"\n'
        )
        env = {**os.environ, "SYMBOT_AUTH_PRIVATE_KEY": bot.private_key_pem.decode()}
        target = f"{EXAMPLES / 'echo_bot.py'}:EchoBot"
        process = await anyio.open_process(
            [sys.executable, "-m", "symbot.cli", "run", target, "-c", str(config),
             "--health-port", "0", "--log-json"],
            stderr=subprocess.PIPE,
            env=env,
        )  # fmt: skip
        log = b""
        try:
            with anyio.fail_after(30):
                url, log = await _served_url(process)
                while (await get(f"{url}/readyz")).status_code != 200:  # noqa: ASYNC110 - a probe
                    await anyio.sleep(0.05)
                alive = await get(f"{url}/healthz")
                metrics = parse_prometheus((await get(f"{url}/metrics")).text)
                process.send_signal(signal.SIGTERM)
                status = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.stderr is not None
        log += await process.stderr.receive(1_000_000)
    assert status == 0, log.decode()
    assert alive.json() == {"alive": True, "status": "ready"}
    assert metrics.value("symbot_ready") == 1
    assert metrics.values("symbot_logins_total", "reason") == {"first login": 1}
    assert b"BEGIN" not in log


async def _served_url(process: Process) -> tuple[str, bytes]:
    """The health URL the process logs once it listens, and the log read so far."""
    assert process.stderr is not None
    log = b""
    while (found := SERVING.search(log)) is None:
        log += await process.stderr.receive()
    return found.group(1).decode(), log
