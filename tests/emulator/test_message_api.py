"""The emulated agent's message endpoints in plain HTTP: create with attachments, get, history,
update, attachment download; Elements forms checked when sent and submitted by a person."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from . import spec_shapes as spec
from .support import ALICE, BOT, Pod, assert_refused, ok

pytestmark = pytest.mark.anyio

FORM = (
    '<messageML><form id="order"><text-field name="name"/>'
    '<select name="size"><option value="s">S</option><option value="l">L</option></select>'
    '<button name="place">Place</button><button name="cancel">Cancel</button>'
    "</form></messageML>"
)


async def create(
    pod: Pod, as_user: str, stream_id: str, message_ml: str, files: list[Any] | None = None
) -> httpx.Response:
    fields = {"message": (None, message_ml)}
    parts: list[Any] = [*fields.items(), *(files or [])]
    return await pod.call(
        as_user, "POST", f"/agent/v4/stream/{stream_id}/message/create", files=parts
    )


async def test_attachments_are_stored_listed_and_downloaded_base64(pod: Pod) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    content = bytes(range(256))
    files = [
        ("attachment", ("data.bin", content, "application/octet-stream")),
        ("attachment", ("note.txt", b"hello", "text/plain")),
        ("preview", ("thumb.png", b"png", "image/png")),  # a preview is not an attachment
    ]
    sent = ok(await create(pod, BOT, im, "<messageML>files</messageML>", files), spec.V4Message)
    assert [(a["name"], a["size"]) for a in sent["attachments"]] == [
        ("data.bin", 256),
        ("note.txt", 5),
    ]
    path = f"/agent/v1/stream/{im}/attachment"
    first = {"fileId": sent["attachments"][0]["id"], "messageId": sent["messageId"]}
    download = await pod.call(ALICE, "GET", path, params=first)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert base64.b64decode(download.content) == content
    for params, status in [
        ({"messageId": sent["messageId"]}, 400),
        ({**first, "fileId": "nope"}, 400),
        ({**first, "messageId": "nope"}, 400),
    ]:
        assert_refused(await pod.call(ALICE, "GET", path, params=params), status)
    outsider = pod.emu.create_im(ALICE, "bob")
    assert_refused(
        await pod.call(BOT, "GET", f"/agent/v1/stream/{outsider}/attachment", params=first), 403
    )
    nameless = [("attachment", ("", b"x", "text/plain"))]
    assert_refused(await create(pod, BOT, im, "<messageML>x</messageML>", nameless), 400)


async def test_get_message_is_a_v4_message_or_204(pod: Pod) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    said = pod.emu.send(ALICE, im, "hello", attachments=[("a.txt", b"abc")])
    got = ok(await pod.call(BOT, "GET", f"/agent/v1/message/{said['messageId']}"), spec.V4Message)
    assert got == said
    missing = await pod.call(BOT, "GET", "/agent/v1/message/unknown")
    assert (missing.status_code, missing.content) == (204, b"")
    hidden = pod.emu.send(ALICE, pod.emu.create_im(ALICE, "bob"), "psst")["messageId"]
    assert_refused(await pod.call(BOT, "GET", f"/agent/v1/message/{hidden}"), 403)


async def test_history_is_a_v4_message_list_in_time_order(pod: Pod) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    sent = [pod.emu.send(ALICE if n % 2 else BOT, im, f"m{n}") for n in range(5)]
    path = f"/agent/v4/stream/{im}/message"
    every = ok(await pod.call(BOT, "GET", path, params={"since": 0}), [spec.V4Message])
    assert [m["messageId"] for m in every] == [m["messageId"] for m in sent]
    page = ok(
        await pod.call(BOT, "GET", path, params={"since": 0, "skip": 1, "limit": 2}),
        [spec.V4Message],
    )
    assert [m["messageId"] for m in page] == [m["messageId"] for m in sent[1:3]]
    late = sent[-1]["timestamp"] + 1
    assert ok(await pod.call(BOT, "GET", path, params={"since": late}), [spec.V4Message]) == []
    for params in ({}, {"since": "yesterday"}, {"since": 0, "limit": 501}, {"since": -1}):
        assert_refused(await pod.call(BOT, "GET", path, params=params), 400)
    assert_refused(
        await pod.call(BOT, "GET", "/agent/v4/stream/nope/message", params={"since": 0}), 400
    )


async def test_update_makes_a_new_version_replacing_the_old(pod: Pod) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    old = pod.emu.send(BOT, im, "draft")
    path = f"/agent/v4/stream/{im}/message/{old['messageId']}/update"
    files = [
        ("message", (None, "<messageML><b>final</b></messageML>")),
        ("silent", (None, "false")),
    ]
    new = ok(await pod.call(BOT, "POST", path, files=files), spec.V4Message)
    assert new["replacing"] == old["messageId"]
    assert (new["initialMessageId"], new["initialTimestamp"]) == (
        old["messageId"],
        old["timestamp"],
    )
    before = ok(await pod.call(BOT, "GET", f"/agent/v1/message/{old['messageId']}"), spec.V4Message)
    assert before["replacedBy"] == new["messageId"]
    assert_refused(
        await pod.call(BOT, "POST", path, files=files), 400
    )  # replaced: update the new one
    newer_path = f"/agent/v4/stream/{im}/message/{new['messageId']}/update"
    newer = ok(await pod.call(BOT, "POST", newer_path, files=files), spec.V4Message)
    assert newer["initialMessageId"] == old["messageId"]
    events = await pod.events(ALICE)
    replaced = [e["payload"]["messageSent"]["message"].get("replacing") for e in events]
    assert replaced == [None, old["messageId"], new["messageId"]]


async def test_update_refusals(pod: Pod) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    hers = pod.emu.send(ALICE, im, "hers")["messageId"]
    files = [("message", (None, "<messageML>x</messageML>"))]
    assert_refused(
        await pod.call(BOT, "POST", f"/agent/v4/stream/{im}/message/{hers}/update", files=files),
        403,
    )
    other = pod.emu.create_im(BOT, "bob")
    assert_refused(
        await pod.call(BOT, "POST", f"/agent/v4/stream/{other}/message/{hers}/update", files=files),
        400,
    )
    mine = pod.emu.send(BOT, im, "mine")["messageId"]
    no_message = [("data", (None, "{}"))]
    assert_refused(
        await pod.call(
            BOT, "POST", f"/agent/v4/stream/{im}/message/{mine}/update", files=no_message
        ),
        400,
    )


@pytest.mark.parametrize(
    "message_ml",
    [
        '<messageML><form id="f"><text-field name="a"/></form></messageML>',
        '<messageML><form><button name="b">B</button></form></messageML>',
        '<messageML><text-field name="a"/></messageML>',
        '<messageML><form id="f"><text-field/><button name="b">B</button></form></messageML>',
        '<messageML><form id="f"><select name="s"/><button name="b">B</button></form></messageML>',
        '<messageML><form id="f"><button type="submit" name="b">B</button></form></messageML>',
        '<messageML><form id="f"><form id="g"><button name="b">B</button></form>'
        '<button name="c">C</button></form></messageML>',
        '<messageML><form id="f"><button name="b">B</button></form>'
        '<form id="f"><button name="c">C</button></form></messageML>',
    ],
    ids=["no-button", "no-id", "outside", "no-name", "no-options", "type", "nested", "twice"],
)
async def test_invalid_forms_are_refused_when_sent(pod: Pod, message_ml: str) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    response = await create(pod, BOT, im, message_ml)
    assert_refused(response, 400)
    assert "invalid Elements form" in response.json()["message"]


async def test_a_submitted_form_reaches_only_its_sender(pod: Pod) -> None:
    room = pod.emu.create_room("Ops", [BOT, ALICE, "bob"])
    form = ok(await create(pod, BOT, room, FORM), spec.V4Message)
    await pod.events(BOT)  # the form's own MESSAGESENT
    await pod.events(ALICE)
    event = pod.emu.submit_form(
        ALICE, form["messageId"], {"name": "Al", "size": "l"}, action="place"
    )
    [received] = await pod.events(BOT)
    assert received == event
    action = event["payload"]["symphonyElementsAction"]
    assert (action["formId"], action["formMessageId"]) == ("order", form["messageId"])
    assert action["formValues"] == {"name": "Al", "size": "l", "action": "place"}
    assert event["initiator"]["user"]["username"] == ALICE
    assert [feed.pending for feed in pod.emu.feeds(ALICE)] == [0]


@pytest.mark.parametrize(
    ("values", "options", "problem"),
    [
        ({"colour": "red"}, {"action": "place"}, "has no fields"),
        ({}, {}, "pass action="),
        ({}, {"action": "buy"}, "has no button 'buy'"),
        ({}, {"action": "place", "form_id": "other"}, "has no form 'other'"),
    ],
)
async def test_submissions_no_person_could_make_are_refused(
    pod: Pod, values: dict[str, Any], options: dict[str, Any], problem: str
) -> None:
    im = pod.emu.create_im(BOT, ALICE)
    form = ok(await create(pod, BOT, im, FORM), spec.V4Message)
    with pytest.raises(ValueError, match=problem):
        pod.emu.submit_form(ALICE, form["messageId"], values, **options)
    with pytest.raises(ValueError, match="not a member"):
        pod.emu.submit_form("carol", form["messageId"], {}, action="place")
