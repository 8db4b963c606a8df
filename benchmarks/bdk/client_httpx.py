"""The baseline: a raw httpx loop, what a developer writes by hand with no framework.

It logs in (pod then KM), replays a call once after logging in again on a 401 (every failing
call logs in for itself: no coordination), creates a datafeed and reads it in a plain loop,
handling the events of a batch one after the other before acknowledging it. It shows what
the HTTP work alone costs; it has none of the robustness either framework adds (no retry
on 5xx or network errors, no feed recovery). Started by the harness as
`python -m benchmarks.bdk.client_httpx '<workload JSON>'`.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from benchmarks.bdk.protocol import OrderTracker, Workload, emit, read_command, run_client

JWT_LIFETIME = 240


class RawClient:
    """Tokens in two attributes and one httpx client for every role."""

    def __init__(self, workload: Workload) -> None:
        self._username = workload.username
        # Loaded once: parsing an RSA key checks it, which costs tens of ms per login.
        key = load_pem_private_key(Path(workload.private_key).read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError(f"{workload.private_key} does not hold an RSA private key")
        self._key = key
        self.http = httpx.AsyncClient(
            base_url=workload.base_url,
            verify=ssl.create_default_context(cafile=workload.ca_bundle),
            timeout=httpx.Timeout(10.0, read=60.0),
        )
        self._session_token = ""
        self._km_token = ""

    async def login(self) -> None:
        self._session_token = await self._authenticate("/login/pubkey/authenticate")
        self._km_token = await self._authenticate("/relay/pubkey/authenticate")

    async def _authenticate(self, path: str) -> str:
        claims = {"sub": self._username, "exp": int(time.time()) + JWT_LIFETIME}
        token = jwt.encode(claims, self._key, algorithm="RS512")
        response = await self.http.post(path, json={"token": token})
        response.raise_for_status()
        return str(response.json()["token"])

    async def call(self, method: str, path: str, json: Any = None) -> Any:
        """The JSON answer of one call; on a 401, log in again and replay once."""
        response = await self.http.request(method, path, json=json, headers=self._headers())
        if response.status_code == 401:
            await self.login()
            response = await self.http.request(method, path, json=json, headers=self._headers())
        response.raise_for_status()
        return response.json()

    def _headers(self) -> dict[str, str]:
        return {"sessionToken": self._session_token, "keyManagerToken": self._km_token}


async def storm(client: RawClient, calls: int) -> dict[str, Any]:
    await client.login()
    await client.call("GET", "/pod/v2/sessioninfo")
    emit({"phase": "ready"})
    if await anyio.to_thread.run_sync(read_command) != "go":
        raise RuntimeError("the harness did not say go")
    failures: list[str] = []

    async def one() -> None:
        try:
            await client.call("GET", "/pod/v2/sessioninfo")
        except httpx.HTTPError as exc:
            failures.append(repr(exc))

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        for _ in range(calls):
            tg.start_soon(one)
    seconds = time.monotonic() - started
    return {"ok": calls - len(failures), "failed": len(failures), "seconds": seconds,
            "first_failure": failures[0] if failures else None}  # fmt: skip


async def read_loop(client: RawClient, tracker: OrderTracker, handler_seconds: float) -> None:
    """Read, handle each event in turn, acknowledge; forever."""
    bot_id = (await client.call("GET", "/pod/v2/sessioninfo"))["id"]
    feed_id = (await client.call("POST", "/agent/v5/datafeeds", json={}))["id"]
    ack_id = ""
    while True:
        batch = await client.call(
            "POST", f"/agent/v5/datafeeds/{feed_id}/read", json={"ackId": ack_id}
        )
        for event in batch.get("events") or []:
            if event.get("type") != "MESSAGESENT":
                continue
            if event["initiator"]["user"]["userId"] == bot_id:
                continue
            mark = tracker.begin(event["payload"]["messageSent"]["message"]["message"])
            if mark is None:
                continue
            if handler_seconds:
                await anyio.sleep(handler_seconds)
            tracker.end(mark)
        ack_id = batch["ackId"]


async def datafeed(client: RawClient, workload: Workload) -> dict[str, Any]:
    complete = anyio.Event()
    tracker = OrderTracker(
        expected=workload.events,
        on_warm=lambda: emit({"phase": "warm", "t": time.monotonic()}),
        on_complete=complete.set,
    )
    await client.login()
    outcome: dict[str, Any] = {}
    async with anyio.create_task_group() as tg:

        async def run_loop() -> None:
            await read_loop(client, tracker, workload.handler_seconds)

        tg.start_soon(run_loop)
        if workload.workload == "stop":
            if await anyio.to_thread.run_sync(read_command) != "stop":
                raise RuntimeError("the harness did not say stop")
            requested = time.monotonic()
            tg.cancel_scope.cancel()
        else:
            await complete.wait()
            tg.cancel_scope.cancel()
    if workload.workload == "stop":
        outcome["stop_seconds"] = time.monotonic() - requested
    else:
        outcome = tracker.result()
    return outcome


async def main(workload: Workload) -> dict[str, Any]:
    client = RawClient(workload)
    async with client.http:
        if workload.workload == "storm":
            return await storm(client, workload.calls)
        return await datafeed(client, workload)


if __name__ == "__main__":
    run_client(lambda spec: anyio.run(main, spec))
