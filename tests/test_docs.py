"""The README and docs/ say what the code does: every configuration key is documented with
its default and environment variable, code blocks are valid Python, the README's commands
are the agreed ones, and its example bot works."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from symbot.config import CONFIG_KEYS
from symbot.testing import BotHarness

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
KEY_ROW = re.compile(r"^\| `([a-z0-9_.]+)` \| ([^|]*) \| `(SYMBOT_[A-Z0-9_]+)` \|", re.MULTILINE)


def python_blocks(path: Path) -> list[str]:
    return PYTHON_BLOCK.findall(path.read_text(encoding="utf-8"))


def test_every_config_key_is_documented_with_its_default_and_environment_variable() -> None:
    rows = {key: (default.strip(), env) for key, default, env in
            KEY_ROW.findall((ROOT / "docs" / "configuration.md").read_text())}  # fmt: skip
    expected = {key.key: (key.default, key.env) for key in CONFIG_KEYS}
    missing = sorted(set(expected) - set(rows))
    stale = sorted(set(rows) - set(expected))
    wrong = sorted(key for key in set(rows) & set(expected) if rows[key] != expected[key])
    found = {"missing": missing, "no longer keys": stale, "wrong default or variable": wrong}
    problems = [f"{what}: {keys}" for what, keys in found.items() if keys]
    assert not problems, (
        f"docs/configuration.md is out of date ({'; '.join(problems)}). `python -c 'from symbot "
        "import BotConfig; print(BotConfig.describe())'` prints the current table."
    )


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_python_code_blocks_are_valid_python(path: Path) -> None:
    for number, block in enumerate(python_blocks(path), 1):
        try:
            compile(block, f"{path.name} block {number}", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as exc:
            pytest.fail(f"{path.name}, python block {number}: {exc}")


def test_readme_gives_the_two_commands_and_links_existing_docs() -> None:
    text = README.read_text()
    assert "python3 -m pip install . && symbot demo" in text
    assert "python3 -m pip install nox uv && python3 -m nox" in text
    for link in re.findall(r"\]\(((?:docs|examples)/[^)#]*)", text):
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"


@pytest.mark.anyio
async def test_the_readme_example_bot_fits_15_lines_and_works() -> None:
    [example] = [block for block in python_blocks(README) if "class EchoBot" in block]
    assert len(example.strip().splitlines()) <= 15
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    async with BotHarness(namespace["EchoBot"]) as h:
        alice = h.user("alice")
        im = h.im("alice")
        await h.say("alice", im, "/echo <i>hi</i>")
        assert (await h.next_reply(im)).text == "<i>hi</i>"
        await h.say("alice", im, "hello")
        assert (await h.next_reply(im)).text == f"Hello, {alice.display_name}!"


@pytest.mark.anyio
async def test_the_services_page_examples_work_against_the_emulator() -> None:
    namespace: dict[str, Any] = {"__name__": "services_page"}
    for number, block in enumerate(python_blocks(ROOT / "docs" / "services.md"), 1):
        exec(compile(block, f"services.md block {number}", "exec"), namespace)  # noqa: S102
    await namespace["test_order"]()
    await namespace["test_sizes"]()
    async with BotHarness(namespace["DeskBot"]) as h:
        im = h.im("alice")
        h.user("bob")
        await h.say("alice", im, "/invite bob")
        assert (await h.next_reply(im)).text == "Room Desk: bob created"
        [room] = [s for s in h.emulator.stream_store.streams() if s.stream_type == "ROOM"]
        assert room.members == ["bot", "bob", "alice"]


@pytest.mark.anyio
async def test_the_migration_pages_bot_works_against_the_emulator() -> None:
    """The symbot half of "one bot, both ways": the form goes out, a submission is answered,
    a newcomer to a room is welcomed (and the bot does not welcome itself); the page's own
    test passes too. The BDK half only has to compile (the BDK is not installed here)."""
    namespace: dict[str, Any] = {"__name__": "migrating_page"}
    blocks = python_blocks(ROOT / "docs" / "migrating.md")
    ours = [block for block in blocks if "symphony.bdk" not in block]
    for number, block in enumerate(blocks, 1):
        if block not in ours:
            compile(block, f"migrating.md BDK block {number}", "exec")
    assert [block for block in blocks if "class LunchBot" in block], "the bot is on the page"
    for number, block in enumerate(ours, 1):
        exec(compile(block, f"migrating.md block {number}", "exec"), namespace)  # noqa: S102
    await namespace["test_lunch"]()
    async with BotHarness(namespace["LunchBot"]) as h:
        im = h.im("alice")
        await h.say("alice", im, "/lunch")
        sent_form = await h.next_reply(im)
        values = {"dish": "pasta", "size": "large"}
        h.emulator.submit_form("alice", sent_form.message_id, values, action="order")
        alice, bob = h.user("alice"), h.user("bob")
        (await h.next_reply(im)).assert_text(f"{alice.display_name} ordered a large pasta")
        room = h.room("Lunch", ["alice"])
        h.emulator.room_event("USERJOINEDROOM", room, "alice", "bot")  # alice adds the bot
        h.emulator.room_event("USERJOINEDROOM", room, "alice", "bob")
        welcome = await h.next_reply(room)
        welcome.assert_text(f"Welcome, {bob.display_name}! Type /lunch to order.")
        assert len(h.replies(room)) == 1
