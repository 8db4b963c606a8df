"""Every example in examples/ runs against the emulator and does what its docstring says."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from symbot.bot import Bot
from symbot.config import BotConfig
from symbot.emulator import Emulator
from symbot.testing import BotHarness

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> ModuleType:
    """Import examples/<name>.py by path, as `symbot run examples/<name>.py:...` does."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 - the emulator has no change hook
            await anyio.sleep(0.01)


async def serving(bot: Bot, body: Callable[[], Any]) -> None:
    """Serve `bot` while `await body()` runs, then stop it."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(bot.serve)
        with anyio.fail_after(15):
            await bot.started.wait()
        try:
            await body()
        finally:
            await bot.stop()


def bot_replies(emu: Emulator, stream_id: str, bot: str = "bot") -> list[str]:
    return [m.text for m in emu.sent_messages() if m.stream_id == stream_id and m.sender == bot]


async def test_echo_bot_repeats_text_escaped_and_greets() -> None:
    echo = example("echo_bot")
    async with BotHarness(echo.EchoBot) as h:
        alice = h.user("alice")
        im = h.im(alice.username)
        await h.say("alice", im, "/echo <b>bold</b> & co")
        assert (await h.next_reply(im)).text == "<b>bold</b> & co"
        await h.say("alice", im, "hello bot")
        assert (await h.next_reply(im)).text == f"Hello, {alice.display_name}!"


async def test_command_bot_parses_typed_arguments_and_lists_tasks_unnumbered() -> None:
    tasks = example("command_bot")
    async with BotHarness(tasks.TaskBot) as h:
        im = h.im("alice")
        for task in ("one", "two", "three"):
            await h.say("alice", im, f"/todo {task}")
            await h.next_reply(im)
        await h.say("alice", im, "/list 2 no")
        assert (await h.next_reply(im)).text == "- one\n- two"
        await h.say("alice", im, "/done 9")
        assert (await h.next_reply(im)).text == "there is no task #9; /list shows them"


async def test_order_bot_sends_a_form_and_answers_the_submission() -> None:
    orders = example("order_bot")
    async with BotHarness(orders.OrderBot) as h:
        alice = h.user("alice")
        im = h.im("alice")
        await h.say("alice", im, "/order")
        sent_form = await h.next_reply(im)
        assert '<form id="order">' in sent_form.message_ml
        values = {"name": "Alice <3", "size": "l", "toppings": ["cheese", "basil"]}
        h.emulator.submit_form("alice", sent_form.message_id, values, action="place")
        summary = "Large pizza for Alice <3 with Extra cheese, Basil"
        assert (await h.next_reply(im)).text == summary  # the form, replaced by the summary
        thanks = await h.next_reply(im)
        assert thanks.text == f"Thanks {alice.display_name}, order placed: {summary}"
        await h.say("alice", im, "/order")
        second = await h.next_reply(im)
        h.emulator.submit_form("alice", second.message_id, {"name": " "}, action="place")
        assert (await h.next_reply(im)).text == "Please give a name and pick a size."
        h.emulator.submit_form("alice", second.message_id, action="cancel")
        assert (await h.next_reply(im)).text == "Order cancelled."
        assert h.bot.stats.handler_errors == 0


async def test_certificate_bot_logs_in_over_mutual_tls(tmp_path: Path) -> None:
    certificate = example("certificate_bot")
    async with Emulator() as emu:
        emu.add_user("certbot")
        emu.add_user("alice")
        cert, key = emu.issue_certificate("certbot").write_pem(tmp_path)
        config = certificate.certificate_config(emu.https_url, cert, key, emu.ca_bundle)
        bot = certificate.WhoAmIBot(config)
        im = emu.create_im("alice", "certbot")

        async def talk() -> None:
            emu.send("alice", im, "/whoami")
            await eventually(lambda: bool(bot_replies(emu, im, "certbot")))

        await serving(bot, talk)
        user_id = emu.user("certbot").user_id
        assert bot_replies(emu, im, "certbot") == [f"I am certbot (user {user_id}), by certificate"]
        assert emu.counters.logins["/sessionauth/v1/authenticate"] == 1
        assert emu.counters.logins["/keyauth/v1/authenticate"] == 1
        assert emu.counters.logins["/login/pubkey/authenticate"] == 0


async def test_two_instances_share_one_feed_and_handle_each_event_once(tmp_path: Path) -> None:
    shared = example("shared_feed")
    async with Emulator() as emu:
        key = tmp_path / "bot.pem"
        emu.add_user("bot").write_private_key(key)
        emu.add_user("alice")
        config_path = tmp_path / "symbot.toml"
        config_path.write_text(emu.bot_config_toml("bot", key))
        config = BotConfig.from_file(config_path, env={})
        bots = [shared.PingBot(config, name="A"), shared.PingBot(config, name="B")]
        im = emu.create_im("alice", "bot")
        pings = 20

        async with anyio.create_task_group() as tg:
            tg.start_soon(shared.serve_one_after_another, bots)
            with anyio.fail_after(15):
                for bot in bots:
                    await bot.started.wait()
            assert len(emu.feeds("bot")) == 1  # B reused the feed A created
            for _ in range(pings):
                emu.send("alice", im, "/ping")
                await anyio.sleep(0.01)
            await eventually(lambda: len(bot_replies(emu, im)) >= pings)
            await anyio.sleep(0.2)  # room for a duplicate to show up, if there were one
            for bot in bots:
                await bot.stop()
            tg.cancel_scope.cancel()

    replies = bot_replies(emu, im)
    assert len(replies) == pings
    assert sum(bot.handled for bot in bots) == pings
    assert set(replies) <= {"pong from instance A", "pong from instance B"}


def test_the_bots_own_tests_pass_with_pytest() -> None:
    """examples/test_my_bot.py, run the way its docstring says, in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "test_my_bot.py", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
