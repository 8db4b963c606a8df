"""Bot lifecycle: hooks, identity, refused credentials, stop at any time, run() and signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from symbot.bot import Bot, on_message
from symbot.config import BotSettings
from symbot.emulator import Emulator
from symbot.errors import AuthenticationError
from symbot.messages import Message
from symbot.testing import BotHarness, in_process_config

from .support import refused_config

pytestmark = pytest.mark.anyio


class Hooked(Bot):
    calls: list[str]

    async def on_start(self) -> None:
        self.calls.append(f"start as {self.me.username}")

    async def on_stop(self) -> None:
        self.calls.append("stop")
        await self.send_message(self.goodbye_stream, "going offline")

    goodbye_stream = ""


async def test_hooks_run_around_serving_and_on_stop_can_still_send() -> None:
    emu = Emulator()
    bot = Hooked(in_process_config(emu, "bot"), transport=emu.transport())
    bot.calls = []
    emu.add_user("alice", public_key_pem=emu.user("bot").public_key_pem)
    bot.goodbye_stream = emu.create_im("bot", "alice")
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        await bot.started.wait()
        assert bot.calls == ["start as bot"]
        info = await bot.session_info()
        assert info.user_id == emu.user("bot").user_id
        await bot.stop()
    assert bot.calls == ["start as bot", "stop"]
    assert [m.text for m in emu.sent_messages()] == ["going offline"]


async def test_refused_credentials_end_serve_with_an_authentication_error() -> None:
    emu = Emulator()
    bot = Bot(refused_config(emu), transport=emu.transport())
    with anyio.fail_after(10), pytest.raises(AuthenticationError, match="bot"):
        await bot.serve()


async def test_stop_before_the_feed_is_open_cancels_start_up() -> None:
    async def stop_soon(bot: Bot) -> None:
        await anyio.sleep(0.1)  # the login is now parked in its 30 s delay
        await bot.stop()

    emu = Emulator()
    emu.fault("/login/pubkey/authenticate", delay=30.0)
    bot = Bot(in_process_config(emu, "bot"), transport=emu.transport())
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(bot.serve)
            tg.start_soon(stop_soon, bot)


async def test_a_stopped_bot_serves_again() -> None:
    async with BotHarness(Bot) as h:
        im = h.im("alice")
        await h.bot.stop()
        assert h.bot.stats.batches == 0
        async with anyio.create_task_group() as tg:
            tg.start_soon(h.bot.serve)
            await h.bot.started.wait()
            await h.bot.send_message(im, "back")
            await h.bot.stop()
        assert [m.text for m in h.replies(im)] == ["back"]


async def test_on_stop_gets_its_own_budget_after_the_drain_used_up_its_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Lingering(Bot):
        said_goodbye = False

        @on_message()
        async def stuck(self, msg: Message) -> None:
            await anyio.sleep_forever()

        async def on_stop(self) -> None:
            await self.send_message(self.me_im, "goodbye")  # after the drain's deadline
            self.said_goodbye = True
            await anyio.sleep_forever()  # then overstays its own budget

        me_im = ""

    settings = BotSettings(mention_required_in_rooms=False, stop_timeout=0.3)
    async with BotHarness(Lingering, settings=settings) as h:
        h.bot.me_im = h.im("alice")
        await h.say("alice", h.bot.me_im, "hang")
        await h.wait_until(lambda: h.bot.stats.handler_calls == 1)
        with anyio.fail_after(5):  # a hang guard
            await h.bot.stop(timeout=0.05)
        assert h.bot.said_goodbye
        assert [m.text for m in h.replies(h.bot.me_im)] == ["goodbye"]
    assert any("on_stop did not finish within 0.3 s" in r.getMessage() for r in caplog.records)


async def test_stop_when_not_serving_is_a_no_op() -> None:
    emu = Emulator()
    bot = Bot(in_process_config(emu, "bot"), transport=emu.transport())
    await bot.stop()


SCRIPT = textwrap.dedent(
    """
    import sys
    from symbot.bot import Bot
    from symbot.emulator import Emulator
    from symbot.testing import in_process_config

    class Announcer(Bot):
        async def on_start(self) -> None:
            print("ready", flush=True)

        async def on_stop(self) -> None:
            print("stopped", flush=True)

    emu = Emulator()
    Announcer(in_process_config(emu, "bot"), transport=emu.transport()).run(backend=sys.argv[1])
    print("exited", flush=True)
    """
)


def run_script(path: Path, source: str, backend: str) -> subprocess.Popen[str]:
    """`source`, written to `path`, run by this interpreter with `backend` as its argument;
    its output piped, as text."""
    path.write_text(source)
    return subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(path), backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_gracefully_on_a_signal(
    tmp_path: Path, signum: signal.Signals, anyio_backend: str
) -> None:
    with run_script(tmp_path / "announcer.py", SCRIPT, anyio_backend) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.split() == ["stopped", "exited"]


STUCK_SCRIPT = textwrap.dedent(
    """
    import sys
    import anyio
    from symbot.bot import Bot, on_message
    from symbot.config import BotSettings
    from symbot.emulator import Emulator
    from symbot.testing import in_process_config

    class Stuck(Bot):
        @on_message()
        async def stuck(self, msg) -> None:
            print("stuck", flush=True)
            await anyio.sleep_forever()

        async def stop(self, timeout=None) -> None:
            print("stopping", flush=True)
            await super().stop(timeout)

    emu = Emulator()
    settings = BotSettings(mention_required_in_rooms=False, stop_timeout=120)
    config = in_process_config(emu, "bot", bot=settings)
    emu.add_user("alice", public_key_pem=emu.user("bot").public_key_pem)
    emu.feed_store.create("bot", config.datafeed.tag_for("bot"))  # the feed the bot will use
    emu.send("alice", emu.create_im("bot", "alice"), "hang")
    Stuck(config, transport=emu.transport()).run(backend=sys.argv[1])
    print("exited", flush=True)
    """
)


def test_a_second_signal_stops_without_waiting_for_the_drain(
    tmp_path: Path, anyio_backend: str
) -> None:
    with run_script(tmp_path / "stuck.py", STUCK_SCRIPT, anyio_backend) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "stuck"
        process.send_signal(signal.SIGTERM)
        assert process.stdout.readline().strip() == "stopping"
        process.send_signal(signal.SIGTERM)  # the drain would take 120 s: cancel it
        out, err = process.communicate(timeout=60)  # a hang guard
    assert process.returncode == 0, err
    assert out.split() == ["exited"]
