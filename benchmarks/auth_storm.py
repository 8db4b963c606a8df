"""Logins per 401 storm: symbot's single-flight refresh against the naive strategy.

After a server-side revocation, N concurrent calls all get a 401. symbot refreshes the
failed tokens once for everybody (target: 1 pod + 1 KM login at every N). The baseline,
measured in the same run against the same emulator, is what the official BDK does:
each failing call re-authenticates on its own, then retries — a few lines of raw httpx.

The emulator runs in-process behind a transport that adds a round trip of latency. With
no latency at all nothing would interleave; over loopback sockets a 1,000-call storm
mostly measures httpcore's connection-pool queue (and needs ~2,000 file descriptors).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import httpx

from symbot.auth import RsaJwtAuth, RsaJwtLogin
from symbot.client import SymphonyClient
from symbot.config import BotConfig
from symbot.emulator import Emulator

BOT = "bot"
POD_LOGIN = "/login/pubkey/authenticate"
KM_LOGIN = "/relay/pubkey/authenticate"
SESSION_INFO = "/pod/v2/sessioninfo"
SIZES = (10, 100, 1_000)
ROUND_TRIP = 0.002  # seconds


class SimulatedNetwork(httpx.AsyncBaseTransport):
    """The in-process emulator, `round_trip` seconds away."""

    def __init__(self, inner: httpx.AsyncBaseTransport, round_trip: float) -> None:
        self._inner = inner
        self._half = round_trip / 2

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await anyio.sleep(self._half)
        response = await self._inner.handle_async_request(request)
        await anyio.sleep(self._half)
        return response


def _logins(emu: Emulator) -> tuple[int, int]:
    return emu.counters.logins[POD_LOGIN], emu.counters.logins[KM_LOGIN]


async def _storm(size: int, call: Callable[[], Coroutine[Any, Any, None]]) -> float:
    started = time.perf_counter()
    with anyio.fail_after(300):
        async with anyio.create_task_group() as tg:
            for _ in range(size):
                tg.start_soon(call)
    return time.perf_counter() - started


async def symbot_storm(emu: Emulator, auth: RsaJwtAuth, size: int) -> tuple[int, int, float]:
    """(pod logins, KM logins, seconds) for `size` concurrent calls after a revocation."""
    network = SimulatedNetwork(emu.transport(), ROUND_TRIP)
    config = BotConfig(pod_url=emu.base_url, auth=auth)
    async with SymphonyClient(config, transport=network) as client:
        await client.session_info()
        emu.revoke_tokens(BOT)
        pod, km = _logins(emu)

        async def call() -> None:
            await client.session_info()

        seconds = await _storm(size, call)
    pod_after, km_after = _logins(emu)
    return pod_after - pod, km_after - km, seconds


async def naive_storm(emu: Emulator, auth: RsaJwtAuth, size: int) -> tuple[int, int, float]:
    """The baseline: every call that meets a 401 logs in again by itself, then retries."""
    make_jwt = RsaJwtLogin(auth).make_jwt
    network = SimulatedNetwork(emu.transport(), ROUND_TRIP)
    async with httpx.AsyncClient(transport=network, base_url=emu.base_url) as http:

        async def login() -> dict[str, str]:
            body = {"token": make_jwt()}
            pod = (await http.post(POD_LOGIN, json=body)).json()["token"]
            km = (await http.post(KM_LOGIN, json=body)).json()["token"]
            return {"sessionToken": pod, "keyManagerToken": km}

        headers = await login()

        async def call() -> None:
            nonlocal headers
            response = await http.get(SESSION_INFO, headers=headers)
            if response.status_code == 401:
                headers = await login()
                response = await http.get(SESSION_INFO, headers=headers)
            response.raise_for_status()

        emu.revoke_tokens(BOT)
        pod, km = _logins(emu)
        seconds = await _storm(size, call)
    pod_after, km_after = _logins(emu)
    return pod_after - pod, km_after - km, seconds


async def main() -> None:
    emu = Emulator()
    user = emu.add_user(BOT)
    assert user.private_key_pem is not None
    auth = RsaJwtAuth(username=BOT, private_key=user.private_key_pem)
    print(
        "Logins (pod + KM) to recover from a 401 storm after a token revocation "
        f"(in-process emulator, {ROUND_TRIP * 1000:g} ms round trip)"
    )
    header = f"{'size':>6} | {'symbot logins':>13} | {'naive logins':>12} | {'ratio':>6}"
    print(f"{header} | {'symbot s':>8} | {'naive s':>8}")
    print("-" * (len(header) + 22))
    for size in SIZES:
        s_pod, s_km, s_seconds = await symbot_storm(emu, auth, size)
        n_pod, n_km, n_seconds = await naive_storm(emu, auth, size)
        ratio = (n_pod + n_km) / max(1, s_pod + s_km)
        print(
            f"{size:>6} | {f'{s_pod} + {s_km}':>13} | {f'{n_pod} + {n_km}':>12} | "
            f"{ratio:>5.0f}x | {s_seconds:>8.3f} | {n_seconds:>8.3f}"
        )
    print("target: symbot 1 + 1 at every size; the naive strategy logs in once per failing call")


if __name__ == "__main__":
    anyio.run(main)
