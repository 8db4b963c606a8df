"""A client that goes away costs nobody anything: its long-poll read gives up its place at
once, and a batch whose answer could not be written goes straight back to the queue.

Without this, a bot restarted with Ctrl-C answered 30 s late: the old process's read was still
first in line, took the next batch, and the batch came back only after its visibility timeout.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from symbot.emulator import Emulator
from symbot.emulator._asgi import Message, Receive, Scope, Send
from symbot.emulator._server import AsgiServer, ClientDisconnected

from .support import ALICE, BOT, GUARD, KeyPairs, RsaLogin

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
READ = r"/agent/v5/datafeeds/[^/]+/read"


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after GUARD seconds (a hang guard)."""
    with anyio.move_on_after(GUARD):
        while not condition():  # noqa: ASYNC110 - the emulator has no change hook
            await anyio.sleep(0.005)
        return
    pytest.fail(f"still waiting for {what} after {GUARD} s")


def readers(emu: Emulator, feed_id: str) -> int:
    return next(info.readers for info in emu.feeds() if info.feed_id == feed_id)


def raw_read(host: str, feed_id: str, headers: dict[str, str]) -> bytes:
    """A datafeed read request as bytes, for a socket the test closes by hand."""
    lines = [f"POST /agent/v5/datafeeds/{feed_id}/read HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["content-type: application/json", "content-length: 2", "", "{}"]
    return "\r\n".join(lines).encode()


async def test_a_served_read_whose_client_left_gives_up_its_place_at_once(
    keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    async with Emulator(visibility_timeout=6 * GUARD, long_poll_timeout=3 * GUARD) as emu:
        emu.add_user(BOT, public_key_pem=keys[0].public_key_pem)
        emu.add_user(ALICE, public_key_pem=keys[1].public_key_pem)
        im = emu.create_im(BOT, ALICE)
        feed_id = emu.feed_store.create(BOT).feed_id
        async with httpx.AsyncClient(base_url=emu.http_url, timeout=4 * GUARD) as http:
            headers = await rsa_login(http, BOT, keys[0].private_key_pem)
            port = int(emu.http_url.rsplit(":", 1)[1])
            gone = await anyio.connect_tcp("127.0.0.1", port)
            await gone.send(raw_read(f"127.0.0.1:{port}", feed_id, headers))
            await wait_for(lambda: readers(emu, feed_id) == 1, "the first read to wait")
            await gone.aclose()  # as a bot stopped with Ctrl-C closes its connection

            await wait_for(lambda: readers(emu, feed_id) == 0, "the abandoned read to leave")
            async with anyio.create_task_group() as task_group:
                answers: list[httpx.Response] = []

                async def read() -> None:
                    url = f"/agent/v5/datafeeds/{feed_id}/read"
                    answers.append(await http.post(url, json={}, headers=headers))

                task_group.start_soon(read)
                await wait_for(lambda: readers(emu, feed_id) == 1, "the second read to wait")
                emu.send(ALICE, im, "are you back?")

    events = answers[0].json()["events"]
    assert [event["payload"]["messageSent"]["message"]["messageId"] for event in events] == [
        emu.sent_messages()[0].message_id
    ]
    assert emu.counters.events_requeued == 0  # nobody took it in the first reader's place


async def test_an_in_process_read_cancelled_by_its_caller_gives_up_its_place_at_once(
    emu: Emulator, http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    headers = await rsa_login(http, BOT, keys[0].private_key_pem)
    feed_id = emu.feed_store.create(BOT).feed_id
    url = f"/agent/v5/datafeeds/{feed_id}/read"
    with anyio.move_on_after(0.05):
        await http.post(url, json={}, headers=headers)
    assert readers(emu, feed_id) == 0

    emu.inject_event({"id": "e1", "type": "UNKNOWN", "payload": {}}, to=[BOT])
    with anyio.fail_after(GUARD):
        response = await http.post(url, json={}, headers=headers)
    assert [event["id"] for event in response.json()["events"]] == ["e1"]


async def test_a_batch_whose_answer_could_not_be_written_is_requeued_at_once(
    emu: Emulator, http: httpx.AsyncClient, keys: KeyPairs, rsa_login: RsaLogin
) -> None:
    """The ASGI 2.4 contract: a server's `send` raises an OSError once the client has left."""
    tokens = await rsa_login(http, BOT, keys[0].private_key_pem)
    feed_id = emu.feed_store.create(BOT).feed_id
    emu.inject_event({"id": "e1", "type": "UNKNOWN", "payload": {}}, to=[BOT])
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": f"/agent/v5/datafeeds/{feed_id}/read",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in tokens.items()],
    }
    sent: list[Message] = []
    received = iter([{"type": "http.request", "body": b"{}", "more_body": False}])

    async def receive() -> Message:
        try:
            return next(received)
        except StopIteration:
            await anyio.sleep_forever()
            raise AssertionError("unreachable") from None

    async def send(message: Message) -> None:
        sent.append(message)
        raise ClientDisconnected("the client closed the connection before the answer")

    await emu.app(scope, receive, send)

    assert sent  # the answer was attempted, and failed
    (info,) = emu.feeds(BOT)
    assert (info.pending, info.in_flight) == (1, 0)
    assert emu.counters.events_requeued == 1


async def test_the_server_raises_client_disconnected_on_a_send_after_the_client_left() -> None:
    outcome: list[BaseException | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"too late"})
        except OSError as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    async with AsgiServer(app) as server:
        stream = await anyio.connect_tcp("127.0.0.1", server.port)
        await stream.send(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await stream.aclose()
        await wait_for(lambda: bool(outcome), "the app to try its answer")

    assert isinstance(outcome[0], ClientDisconnected)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the emulator's; the bots alternate
async def test_a_served_bot_restarted_with_ctrl_c_ten_times_answers_within_a_second_each_time(
    tmp_path: Path,
) -> None:
    async with Emulator() as emu:
        emu.add_user(BOT)
        emu.add_user(ALICE)
        key = emu.user(BOT).write_private_key(tmp_path / "bot.pem")
        config = tmp_path / "symbot.toml"
        config.write_text(emu.bot_config_toml(BOT, key))
        im = emu.create_im(ALICE, BOT)
        target = f"{EXAMPLES / 'echo_bot.py'}:EchoBot"
        for restart in range(10):
            backend = ("asyncio", "trio")[restart % 2]
            reads_before = len(emu.received_requests(READ))
            log = tmp_path / f"run-{restart}.log"
            with log.open("wb") as stderr:
                process = await anyio.open_process(
                    [sys.executable, "-m", "symbot.cli", "run", target, "-c", str(config),
                     "--backend", backend],
                    stdout=subprocess.DEVNULL, stderr=stderr,
                )  # fmt: skip
            async with process:
                await wait_for(
                    lambda: len(emu.received_requests(READ)) > reads_before,  # noqa: B023
                    f"restart {restart} to read its datafeed",
                )
                text = f"/echo restart {restart}"
                emu.send(ALICE, im, text)
                with anyio.move_on_after(1.0):  # the bound: 1 s, against 30 s before
                    while f"restart {restart}" not in _bot_texts(emu):  # noqa: ASYNC110
                        await anyio.sleep(0.005)
                answered = f"restart {restart}" in _bot_texts(emu)
                # A developer's Ctrl-C comes while the bot waits on its next long-poll read.
                (feed,) = emu.feeds(BOT)
                await wait_for(lambda: readers(emu, feed.feed_id) == 1, "the bot to read again")  # noqa: B023
                process.send_signal(signal.SIGINT)  # as Ctrl-C does
                with anyio.fail_after(GUARD):
                    status = await process.wait()
            assert answered, f"restart {restart} ({backend}) did not answer within 1 s:\n" + (
                log.read_text()
            )
            assert status == 0, log.read_text()


def _bot_texts(emu: Emulator) -> list[str]:
    return [sent.text for sent in emu.sent_messages() if sent.sender == BOT]
