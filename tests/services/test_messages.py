"""Messages: get, history by time, send with attachments, download, update, suppress; the
refusals, and the events the pod emits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from symbot.emulator import Emulator
from symbot.errors import ApiError, ForbiddenError, MessageRejectedError, NotFoundError
from symbot.messages import Message, bold, markup
from symbot.services import Messages, Streams

from .support import BOT, events_of, user_id

pytestmark = pytest.mark.anyio

EVERY_BYTE = bytes(range(256)) * 3


async def bot_im(streams: Streams, emu: Emulator, username: str = "alice") -> str:
    return await streams.create_im(user_id(emu, username))


async def test_send_with_attachments_and_download_them_byte_for_byte(
    messages: Messages, streams: Streams, emu: Emulator, tmp_path: Path
) -> None:
    im = await bot_im(streams, emu)
    report = tmp_path / "report.csv"
    report.write_bytes(b"a,b\n1,2\n")
    sent = await messages.send(
        im, "files <attached>", attachments=[("blob.bin", EVERY_BYTE), report]
    )
    assert sent is not None
    assert sent.text == "files <attached>"
    assert [(a.name, a.size) for a in sent.attachments] == [("blob.bin", 768), ("report.csv", 8)]
    assert await messages.download(sent, sent.attachments[0]) == EVERY_BYTE
    assert await messages.download(sent, sent.attachments[1].attachment_id) == report.read_bytes()
    [stored] = emu.sent_messages()
    assert [a.content_type for a in stored.attachments] == ["application/octet-stream", "text/csv"]


async def test_a_person_s_attachment_reaches_the_bot_in_the_event_and_downloads(
    messages: Messages, emu: Emulator
) -> None:
    feed = emu.feed_store.create(BOT).feed_id
    im = emu.create_im("alice", BOT)
    emu.send("alice", im, "here", attachments=[("photo.png", b"\x89PNG...")])
    [event] = await events_of(emu, BOT, feed)
    message = await messages.get(event["messageId"])
    [attachment] = message.attachments
    assert (attachment.name, attachment.size) == ("photo.png", 7)
    assert await messages.download(message, attachment) == b"\x89PNG..."


async def test_attachments_are_refused_when_unknown_or_too_large(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    sent = await messages.send(im, "x", attachments=[("big.bin", EVERY_BYTE)])
    assert sent is not None
    with pytest.raises(NotFoundError, match="no such attachment 'nope'"):
        await messages.download(sent, "nope")
    with pytest.raises(ApiError, match=r"malformed answer \(too large\).* limit of this call"):
        await messages.download(sent, sent.attachments[0], max_bytes=100)
    with pytest.raises(TypeError, match="Path or a"):
        await messages.send(im, "x", attachments=["report.pdf"])  # type: ignore[list-item]


async def test_get_gives_the_message_and_not_found_for_an_unknown_id(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    sent = await messages.send(im, bold("hi"))
    assert sent is not None
    got = await messages.get(sent.message_id)
    assert isinstance(got, Message)
    assert (got.message_id, got.text, got.stream_id) == (sent.message_id, "hi", im)
    with pytest.raises(NotFoundError, match="no such message 'unknown'"):
        await messages.get("unknown")


async def test_messages_of_streams_the_bot_is_not_in_are_forbidden(
    messages: Messages, emu: Emulator
) -> None:
    theirs = emu.create_im("alice", "bob")
    said = emu.send("alice", theirs, "secret")
    with pytest.raises(ForbiddenError, match=f"not allowed on message '{said['messageId']}'"):
        await messages.get(said["messageId"])
    with pytest.raises(ForbiddenError, match=f"not allowed on stream '{theirs}'"):
        await messages.send(theirs, "let me in")
    with pytest.raises(ForbiddenError):
        [m async for m in messages.history(theirs, since=0)]


async def test_bad_message_ml_is_rejected_as_such(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:

    im = await bot_im(streams, emu)
    with pytest.raises(MessageRejectedError, match="not well-formed"):
        await messages.send(im, markup("<messageML><b>unclosed</messageML>"))


async def test_history_pages_oldest_first_each_message_once(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    for n in range(12):
        emu.send("alice" if n % 2 else BOT, im, f"message {n}")
    texts = [m.text async for m in messages.history(im, since=0, page_size=5)]
    assert texts == [f"message {n}" for n in range(12)]
    assert len(emu.received_requests(f"/agent/v4/stream/{im}/message$")) == 3
    first_three = [m.text async for m in messages.history(im, since=0, limit=3)]
    assert first_three == ["message 0", "message 1", "message 2"]


async def test_history_keeps_to_the_time_window(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    sent = [emu.send("alice", im, f"m{n}") for n in range(3)]
    middle = sent[1]["timestamp"]
    after = [m.text async for m in messages.history(im, since=middle)]
    assert after == [f"m{n}" for n, m in enumerate(sent) if m["timestamp"] >= middle]
    first = sent[0]["timestamp"]
    until = datetime.fromtimestamp(first / 1000, UTC)
    before = [m.text async for m in messages.history(im, since=0, until=until)]
    assert before == [f"m{n}" for n, m in enumerate(sent) if m["timestamp"] <= first]
    with pytest.raises(ValueError, match="aware datetime"):
        messages.history(im, since=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="page_size must be an integer from 1 to 500"):
        messages.history(im, since=0, page_size=501)


async def test_update_gives_a_new_version_that_members_receive(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    sent = await messages.send(im, "draft")
    assert sent is not None
    feed = emu.feed_store.create("alice").feed_id
    new = await messages.update(im, sent.message_id, bold("final"), silent=False)
    assert new is not None
    assert new.message_id != sent.message_id
    assert new.text == "final"
    [event] = await events_of(emu, "alice", feed)
    assert event["type"] == "MESSAGESENT"
    assert event["payload"]["messageSent"]["message"]["replacing"] == sent.message_id
    assert [m.text async for m in messages.history(im, since=0)] == ["final"]
    with pytest.raises(ApiError, match=f"was replaced by {new.message_id}"):
        await messages.update(im, sent.message_id, "again")


async def test_only_the_sender_updates_a_message(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    said = emu.send("alice", im, "mine")
    with pytest.raises(ForbiddenError, match="other users"):
        await messages.update(im, said["messageId"], "yours now")


async def test_suppress_hides_a_message_from_everyone_once(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    sent = await messages.send(im, "oops")
    assert sent is not None
    feed = emu.feed_store.create("alice").feed_id
    done = await messages.suppress(sent.message_id)
    assert (done.message_id, done.suppressed) == (sent.message_id, True)
    assert done.suppressed_at
    again = await messages.suppress(sent.message_id)
    assert again.suppressed_at == 0  # Symphony's way of saying "already"
    [event] = await events_of(emu, "alice", feed)
    assert event["type"] == "MESSAGESUPPRESSED"
    assert event["payload"]["messageSuppressed"]["messageId"] == sent.message_id
    with pytest.raises(NotFoundError):
        await messages.get(sent.message_id)
    assert [m async for m in messages.history(im, since=0)] == []


async def test_suppressing_others_messages_needs_content_management(
    messages: Messages, streams: Streams, emu: Emulator
) -> None:
    im = await bot_im(streams, emu)
    said = emu.send("alice", im, "spam")
    with pytest.raises(ForbiddenError, match="own messages only"):
        await messages.suppress(said["messageId"])
    emu.grant_role(BOT, "CONTENT_MANAGEMENT")
    assert (await messages.suppress(said["messageId"])).suppressed
    with pytest.raises(NotFoundError, match="no such message 'gone'"):
        await messages.suppress("gone")


async def test_standard_base64_ids_are_sent_url_safe(messages: Messages, emu: Emulator) -> None:
    with pytest.raises(NotFoundError):
        await messages.get("ab+c/d==")
    [request] = emu.received_requests("/agent/v1/message/")
    assert request.path == "/agent/v1/message/ab-c_d"
