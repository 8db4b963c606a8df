"""The steps of the fidelity tier: what the official BDK does against the emulator, in order.

Each step is a function registered with `@step(name, *routes)`, where `routes` are the
emulator routes it proves ("METHOD /path", as the emulator spells them; checked: the step
must reach each one). An endpoint added to the emulator is one more step here, or one more
entry in `NOT_CALLABLE` saying why the BDK cannot call it; `tests/test_fidelity.py` fails
until it is one or the other.

A step talks to the BDK through `run` (`run.call("rsa", "messages.send_message", ...)`, see
fidelity/harness.py), plays the pod's other side on the emulators (`run.strict.send(...)`),
and states what must hold with `run.expect(condition, problem, side=...)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fidelity.harness import BOT, PERSON, KnownDefect, Run, Step
from symbot.emulator._auth_routes import (
    CERTIFICATE_LOGIN_NOTICE,
    KM_CERT_LOGIN,
    KM_LOGIN,
    POD_LOGIN,
    SESSION_CERT_LOGIN,
)

__all__ = ["NOT_CALLABLE", "STEPS"]

STEPS: list[Step] = []

NOT_CALLABLE: dict[str, str] = {}
"""Emulator routes the BDK has no way to call, each with the reason."""

StepFunction = Callable[[Run], Awaitable[None]]

FEEDS = "/agent/v5/datafeeds"
SESSION_INFO = "GET /pod/v2/sessioninfo"


def step(name: str, *routes: str, on: str = "strict") -> Callable[[StepFunction], StepFunction]:
    def register(function: StepFunction) -> StepFunction:
        STEPS.append(Step(name, function, routes, on))
        return function

    return register


@step("RSA login: pod and key manager", f"POST {POD_LOGIN}", f"POST {KM_LOGIN}")
async def rsa_login(run: Run) -> None:
    await run.open("rsa", run.settings(run.strict))
    await run.call("rsa", "bot_session.refresh")
    logins = run.strict.counters.logins
    run.expect(
        (logins[POD_LOGIN], logins[KM_LOGIN]) == (1, 1),
        f"expected one pod and one key manager login, counted {dict(logins)}",
    )


@step("session info", SESSION_INFO)
async def session_info(run: Run) -> None:
    user = await run.call("rsa", "sessions.get_session")
    expected = (BOT, run.strict.user(BOT).user_id)
    run.expect(
        (user.get("username"), user.get("id")) == expected,
        f"session info said {user!r}, expected username and id {expected}",
    )


@step("agent health", "GET /agent/v3/health")
async def health(run: Run) -> None:
    answer = await run.call("rsa", "health.health_check")
    run.expect(answer.get("status") == "UP", f"health answered {answer!r}")


@step(
    "datafeed: list, create, read, acknowledge",
    f"GET {FEEDS}",
    f"POST {FEEDS}",
    f"POST {FEEDS}/{{feed_id}}/read",
)
async def datafeed(run: Run) -> None:
    await run.listen("rsa", run.strict)
    sent = [run.strict.send(PERSON, run.im, "hello, BDK")]
    await run.events("rsa", 1)
    sent.append(run.strict.send(PERSON, run.im, "and again"))
    events = await run.events("rsa", 2)
    for event, message in zip(events, sent, strict=True):
        received = event.get("payload", {}).get("messageSent", {}).get("message", {})
        run.expect(
            event.get("type") == "MESSAGESENT"
            and received.get("messageId") == message["messageId"],
            f"expected MESSAGESENT of {message['messageId']}, the BDK read {event!r}",
        )
        run.expect(
            received.get("stream", {}).get("streamId") == run.im
            and event.get("initiator", {}).get("user", {}).get("username") == PERSON,
            f"the event's stream or initiator is wrong: {event!r}",
        )
    run.expect(
        run.strict.counters.events_acked >= 1,
        "the BDK's next read did not acknowledge the first batch",
    )


@step("send a message", "POST /agent/v4/stream/{stream_id}/message/create")
async def send_message(run: Run) -> None:
    answer = await run.call(
        "rsa", "messages.send_message", run.im, "<messageML>Hello <b>alice</b></messageML>"
    )
    stored = run.strict.sent_messages()[-1]
    run.expect(
        (stored.sender, stored.stream_id, stored.text) == (BOT, run.im, "Hello alice"),
        f"the emulator stored {stored!r}",
    )
    run.expect(
        answer.get("messageId") == stored.message_id,
        f"the answer names message {answer.get('messageId')!r}, stored {stored.message_id!r}",
    )


EMPTY_204 = KnownDefect(
    "validation error for V2Error",
    "symphony-bdk-python's generated client expects a V2Error body on 204 No Content (the "
    "spec lists one), which HTTP forbids; it raises on every successful datafeed delete",
)


@step("datafeed: stop, then delete", f"DELETE {FEEDS}/{{feed_id}}")
async def delete_datafeed(run: Run) -> None:
    await run.unlisten("rsa")
    (feed,) = run.strict.feeds(BOT)
    await run.api(
        "rsa", "agent_api.datafeed_api.DatafeedApi", "agent", "delete_datafeed",
        despite=EMPTY_204, datafeed_id=feed.feed_id,
    )  # fmt: skip
    run.expect(not run.strict.feeds(BOT), f"the feed is still listed: {run.strict.feeds(BOT)}")


@step("re-login after a revocation", f"POST {POD_LOGIN}", f"POST {KM_LOGIN}", SESSION_INFO)
async def relogin(run: Run) -> None:
    counters = run.strict.counters
    logins, refused = counters.logins[POD_LOGIN], counters.unauthorized
    run.strict.revoke_tokens(BOT)
    user = await run.call("rsa", "sessions.get_session")
    run.expect(user.get("username") == BOT, f"session info after re-login said {user!r}")
    run.expect(counters.unauthorized > refused, "the revoked token was not refused (no 401)")
    run.expect(
        counters.logins[POD_LOGIN] == logins + 1,
        f"expected one new pod login, counted {counters.logins[POD_LOGIN] - logins}",
        side="BDK",
    )


@step("certificate login refused: the BDK sends a Content-Type", f"POST {SESSION_CERT_LOGIN}")
async def certificate_login_refused(run: Run) -> None:
    await run.open("certificate", run.settings(run.strict, certificate=True))
    refusal = await run.refused("certificate", "bot_session.refresh")
    body = refusal.get("body") or ""
    run.expect(
        refusal.get("status") == 401
        and "Content-Type" in body
        and CERTIFICATE_LOGIN_NOTICE in body,
        f"expected 401 citing Symphony's notice, got {refusal.get('status')}: {body}",
    )


@step(
    "certificate login accepted in lenient mode",
    f"POST {SESSION_CERT_LOGIN}",
    f"POST {KM_CERT_LOGIN}",
    SESSION_INFO,
    on="lenient",
)
async def certificate_login_lenient(run: Run) -> None:
    await run.open("lenient", run.settings(run.lenient, certificate=True))
    await run.call("lenient", "bot_session.refresh")
    user = await run.call("lenient", "sessions.get_session")
    run.expect(user.get("username") == BOT, f"session info said {user!r}")
    logins = run.lenient.counters.logins
    run.expect(
        (logins[SESSION_CERT_LOGIN], logins[KM_CERT_LOGIN]) == (1, 1),
        f"expected one session auth and one key manager login, counted {dict(logins)}",
    )
