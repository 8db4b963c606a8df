"""Readiness over real HTTP: a bot served with its health port says it is ready only while
its datafeed completes reads and its session is not failing, says why not otherwise, turns
ready again by itself, never shows a secret, and never delays its own stop."""

from __future__ import annotations

import anyio
import pytest

from symbot import Bot, BotConfig, Message, on_message
from symbot.emulator import Emulator
from symbot.testing import in_process_config

from .support import get, health_harness, readiness, until_readiness

pytestmark = pytest.mark.anyio

READ = r"/agent/v5/datafeeds/[^/]+/read"
KM_LOGIN = "/relay/pubkey/authenticate"
KM_NOT_REGISTERED = "Not allowed to make this call when KeyManager is not registered in the pod"


class EchoBot(Bot):
    @on_message()
    async def echo(self, msg: Message) -> None:
        await msg.reply(msg.text)


async def test_ready_while_reading_and_alive_whatever_the_readiness() -> None:
    async with health_harness(EchoBot) as h:
        status, body = await readiness(h.bot)
        assert (status, body["status"], body["ready"], body["reasons"]) == (200, "ready", True, [])
        assert body["login"]["state"] == "ok"
        assert 0 <= body["datafeed"]["last_read_age"] < body["datafeed"]["max_read_age"] == 120
        alive = await get(f"{h.bot.health_url}/healthz")
        assert (alive.status_code, alive.json()) == (200, {"alive": True, "status": "ready"})
    assert h.bot.health_url is None
    assert h.bot.health().status == "not serving"


async def test_unready_when_the_datafeed_stops_completing_reads_then_ready_again() -> None:
    """Every read hangs past the read timeout (an agent that stopped answering): once no read
    has completed for `health.max_read_age`, /readyz answers 503 saying so; when the agent
    answers again, the next completed read makes the bot ready without a restart."""
    emu = Emulator(long_poll_timeout=0.05)
    async with health_harness(EchoBot, emulator=emu, read_timeout=0.2, max_read_age=0.6) as h:
        await until_readiness(h.bot, 200)
        emu.fault(READ, delay=30, probability=1.0)
        body = await until_readiness(h.bot, 503)
        assert body["status"] == "unhealthy"
        [reason] = body["reasons"]
        assert reason.startswith("the datafeed has not completed a read for ")
        assert "(health.max_read_age = 0.6 s)" in reason
        assert body["datafeed"]["last_read_age"] >= 0.6  # rounded to the millisecond
        assert body["login"]["state"] == "ok"  # the session is not what is wrong
        assert h.bot.feed_stats.failed_reads > 0

        emu.clear_faults()
        body = await until_readiness(h.bot, 200)
        assert body["reasons"] == []
        im = h.im("alice")
        await h.say("alice", im, "still here")
        assert (await h.next_reply(im)).text == "still here"


async def test_unready_while_relogins_keep_failing_then_ready_again() -> None:
    """Tokens revoked and the Key Manager refusing every re-login (a maintenance window):
    /readyz answers 503 with the session's state and the server's words; once the Key
    Manager accepts again, the bot is ready again by itself."""
    emu = Emulator(long_poll_timeout=0.05)
    async with health_harness(EchoBot, emulator=emu) as h:
        await until_readiness(h.bot, 200)
        emu.fault(KM_LOGIN, status=400, message=KM_NOT_REGISTERED, probability=1.0)
        emu.revoke_tokens("bot")
        body = await until_readiness(h.bot, 503)
        assert body["status"] == "unhealthy"
        assert body["login"]["state"] == "unavailable"
        assert body["login"]["attempts"] >= 1
        [reason] = body["reasons"]
        assert reason.startswith("re-logins are failing (")
        assert KM_NOT_REGISTERED in reason

        emu.clear_faults()
        body = await until_readiness(h.bot, 200)
        assert body["login"]["state"] == "ok"
        assert body["login"]["login_failures"] >= 1


class SlowBot(Bot):
    def __init__(self, config: BotConfig, **kwargs: object) -> None:
        super().__init__(config, **kwargs)  # type: ignore[arg-type]
        self.release = anyio.Event()
        self.handling = anyio.Event()

    @on_message()
    async def slow(self, msg: Message) -> None:
        self.handling.set()
        await self.release.wait()


async def test_stopping_says_so_and_a_client_holding_the_port_does_not_delay_the_stop() -> None:
    """While handlers drain, /readyz says "stopping"; a client that opened a connection and
    never finished its request (it would be dropped after 5 s) does not hold `stop()` up."""
    async with health_harness(SlowBot) as h:
        bot = h.bot
        await h.say("alice", h.im("alice"), "take your time")
        await bot.handling.wait()
        assert bot.health_url is not None
        holder = await anyio.connect_tcp("127.0.0.1", int(bot.health_url.rsplit(":", 1)[1]))
        await holder.send(b"GET /readyz HTTP/1.1\r\n")  # and never the blank line
        with anyio.fail_after(3):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(bot.stop, 30)
                body = await until_readiness(bot, 503)
                assert (body["status"], body["reasons"]) == ("stopping", ["the bot is stopping"])
                bot.release.set()
        assert bot.health_url is None
        with anyio.fail_after(3), pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
            await holder.receive()  # closed unanswered
        await holder.aclose()


async def test_health_and_metrics_never_show_a_secret() -> None:
    """The tokens, the key, and a server's words that carry a token never reach the bodies
    of /healthz, /readyz or /metrics, while the bot is healthy and while it is not."""
    emu = Emulator(long_poll_timeout=0.05)
    async with health_harness(EchoBot, emulator=emu) as h:
        await until_readiness(h.bot, 200)
        tokens = h.bot.client.session.current
        assert tokens is not None
        private_key = emu.user("bot").private_key_pem
        assert private_key is not None
        secrets = [tokens.session_token, tokens.key_manager_token or "", "MARKER-4417"]
        secrets += [line for line in private_key.decode().splitlines() if "-----" not in line]
        bodies = [await _bodies(h.bot)]
        emu.fault(
            KM_LOGIN, status=400, message="refused: keyManagerToken=MARKER-4417", probability=1.0
        )
        emu.revoke_tokens("bot")
        await until_readiness(h.bot, 503)
        bodies.append(await _bodies(h.bot))
        emu.clear_faults()
    for body in bodies:
        for secret in secrets:
            assert secret not in body


async def _bodies(bot: Bot) -> str:
    return "".join([(await get(f"{bot.health_url}{path}")).text
                    for path in ("/healthz", "/readyz", "/metrics")])  # fmt: skip


def test_a_bot_that_does_not_serve_is_not_ready_and_says_so() -> None:
    emu = Emulator()
    bot = EchoBot(in_process_config(emu, "bot"), transport=emu.transport())
    health = bot.health()
    assert (health.ready, health.status, health.reasons) == (
        False,
        "not serving",
        ("the bot is not serving",),
    )
    assert health.to_json()["login"] is None
    assert bot.health_url is None
    assert "symbot_ready 0\n" in bot.metrics()
