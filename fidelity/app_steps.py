"""The app's steps: what the official BDK does against the emulator as an app, after the
bot's steps (it reads what they made: the IM, the room alice left, the bot's BDK "rsa").

The app is a BDK of its own ("app") with an `app` section and no bot account, as an app
backend runs. Its on-behalf-of sessions are kept in the BDK's process ("alice-session", the
`OboAuthSession`; "alice", the `OboServices` made from it). See fidelity/steps.py for how a
step is written.
"""

from __future__ import annotations

import secrets

import jwt

from fidelity.bot_steps import LIST_STREAMS, SEND, nested
from fidelity.harness import (
    APP,
    BOT,
    PERSON,
    Run,
    Step,
    StepFailed,
    bdk_class,
    kept,
    model,
    registrar,
)
from symbot.emulator._app_routes import (
    APP_LOGIN,
    EXTENSION_APP_LOGIN,
    IDM_KEYS,
    IDM_TOKENS,
    OBO_BY_USER_ID,
    OBO_BY_USERNAME,
    POD_CERTIFICATE,
)

__all__ = ["STEPS"]

STEPS: list[Step] = []
step = registrar(STEPS)

OUTSIDER = "bob"
"""A user the app may not act for (added by the step that is refused for them)."""
ALICE_OBO_LOGIN = OBO_BY_USERNAME.format(username=PERSON)
"""Alice's on-behalf-of login, as the emulator counts it (by the path requested)."""
TWO_WEEKS_MS = 14 * 86_400_000
"""The longest session Symphony's pods allow, in milliseconds."""


@step(
    "OBO by username: the app sends as alice",
    f"POST {APP_LOGIN}",
    f"POST {OBO_BY_USERNAME}",
    SEND,
)
async def obo_by_username(run: Run) -> None:
    await run.open("app", run.app_settings())
    await run.call("app", "obo", username=PERSON, keep="alice-session")
    await run.call("app", "obo_services", kept("alice-session"), keep="alice")
    await _send_as_alice(run, "Posted by the app")
    logins = run.strict.counters.logins
    run.expect(
        (logins[APP_LOGIN], logins[ALICE_OBO_LOGIN]) == (1, 1),
        f"expected one app login and one on-behalf-of login, counted {dict(logins)}",
    )


@step(
    "OBO by user id: the pod answers as alice",
    f"POST {APP_LOGIN}",
    f"POST {OBO_BY_USER_ID}",
    LIST_STREAMS,
)
async def obo_by_user_id(run: Run) -> None:
    alice = run.strict.user(PERSON).user_id
    await run.call("app", "obo", user_id=alice, keep="alice-by-id-session")
    await run.call("app", "obo_services", kept("alice-by-id-session"), keep="alice-by-id")
    every_kind = model("pod_model.stream_filter.StreamFilter")
    streams = await run.call("alice-by-id", "streams.list_streams", every_kind)
    ids = [stream.get("id") for stream in streams]
    # alice is in the IM with the bot, and was removed from the bot's room.
    run.expect(
        run.im in ids and run.places["room"] not in ids,
        f"alice's streams, listed on her behalf, are {ids}: the bot's, not hers?",
    )


@step("OBO: alice's expired session is renewed", f"POST {OBO_BY_USERNAME}", SEND)
async def obo_renewed(run: Run) -> None:
    counters = run.strict.counters
    logins, refused = counters.logins[ALICE_OBO_LOGIN], counters.unauthorized
    run.strict.expire_tokens(PERSON)
    await _send_as_alice(run, "Posted again")
    run.expect(counters.unauthorized > refused, "the expired session was not refused (no 401)")
    renewed = counters.logins[ALICE_OBO_LOGIN] - logins
    run.expect(renewed == 1, f"expected one new on-behalf-of login, counted {renewed}", side="BDK")


async def _send_as_alice(run: Run, text: str) -> None:
    """Alice's `OboServices` (kept as "alice") sends `text` to the IM; it must be stored as
    hers, answered as hers, and read as hers by the bot."""
    answer = await run.call("alice", "messages.send_message", run.im, f"<p>{text}</p>")
    stored = run.strict.sent_messages()[-1]
    run.expect(
        (stored.sender, stored.stream_id, stored.text) == (PERSON, run.im, text),
        f"the emulator stored {stored!r}",
    )
    run.expect(
        answer.get("messageId") == stored.message_id
        and nested(answer, "user", "userId") == run.strict.user(PERSON).user_id,
        f"the answer to alice's message is {answer!r}",
    )
    read = await run.call("rsa", "messages.get_message", stored.message_id)
    run.expect(
        nested(read, "user", "username") == PERSON,
        f"the bot reads alice's message as sent by {nested(read, 'user')!r}",
    )


@step("OBO for a user the app may not act for: 403", f"POST {OBO_BY_USERNAME}")
async def obo_not_entitled(run: Run) -> None:
    run.strict.add_user(OUTSIDER, public_key_pem=run.strict.user(PERSON).public_key_pem)
    run.strict.set_app_entitlement(APP, OUTSIDER, entitled=False)
    await run.call("app", "obo", username=OUTSIDER, keep="outsider-session")
    refusal = await run.refused("outsider-session", "refresh")
    body = refusal.get("body") or ""
    run.expect(
        refusal.get("status") == 403 and "entitled" in body,
        f"expected 403 saying the app is not entitled, got {refusal.get('status')}: {body}",
    )


@step("extension app: authenticate, validate the pair", f"POST {EXTENSION_APP_LOGIN}")
async def extension_app(run: Run) -> None:
    app_token = secrets.token_urlsafe(24)
    await run.call(
        "app", "app_authenticator.authenticate_extension_app", app_token, keep="extension"
    )
    session = {
        name: await run.call("extension", name)
        for name in ("app_token", "symphony_token", "expire_at")
    }
    paired = run.strict.symphony_token(APP, app_token)
    run.expect(
        (session["app_token"], session["symphony_token"]) == (app_token, paired),
        "the BDK's session does not hold the app token sent and the Symphony token paired",
    )
    now_ms = run.strict.clock() * 1000
    run.expect(
        isinstance(session["expire_at"], int)
        and now_ms < session["expire_at"] <= now_ms + TWO_WEEKS_MS,
        f"expireAt must be epoch milliseconds within two weeks, got {session['expire_at']!r}",
    )
    valid = await run.call(
        "app", "app_authenticator.is_token_pair_valid", app_token, session["symphony_token"]
    )
    forged = await run.call("app", "app_authenticator.is_token_pair_valid", app_token, "forged")
    run.expect((valid, forged) == (True, False), f"the pair validated {valid}, a forged {forged}")


@step("extension app: a user JWT, checked with podcert", f"GET {POD_CERTIFICATE}")
async def extension_user_jwt(run: Run) -> None:
    alice = run.strict.user(PERSON)
    answer = await run.attempt(
        "app", "app_authenticator.validate_jwt", run.strict.extension_user_jwt(PERSON, APP)
    )
    # The BDK's check is PyJWT's (RS512, the certificate's key, `aud`, `exp`): when it
    # refuses what the emulator signed, the emulator's certificate or JWT is wrong.
    run.expect(
        answer.get("ok") is True,
        f"the BDK refused a user JWT the emulator signed, with the certificate it served at "
        f"{POD_CERTIFICATE}: {answer.get('error')}",
    )
    claims = answer["result"]
    run.expect(
        (claims.get("aud"), claims.get("sub"), nested(claims, "user", "username"))
        == (APP, str(alice.user_id), PERSON),
        f"the user's JWT validated to the claims {claims!r}",
    )
    expired = run.strict.extension_user_jwt(PERSON, APP, lifetime=-120)
    refusal = await run.refused("app", "app_authenticator.validate_jwt", expired)
    run.expect(
        "Unable to validate the jwt" in str(refusal.get("error")),
        f"an expired user JWT was refused for another reason: {refusal.get('error')}",
    )


@step(
    "access token for the groups API, checked with JWKS",
    f"POST {IDM_TOKENS}",
    f"GET {IDM_KEYS}",
)
async def access_token(run: Run) -> None:
    # The BDK asks /login/idm/tokens for a token only in its groups extension, for the
    # profile-manager API; nothing in it fetches /login/idm/keys but its generated client.
    groups = bdk_class("ext.group.SymphonyGroupBdkExtension")
    await run.call("rsa", "extensions.register", groups)
    await run.call("rsa", "extensions.service", groups, keep="groups")
    granted = run.strict.counters.access_tokens
    settings = await run.call("groups", "_oauth_session.get_auth_settings")
    scheme, _, token = str(nested(settings, "bearerAuth", "value")).partition(" ")
    run.expect(
        scheme == "Bearer" and run.strict.counters.access_tokens == granted + 1,
        "the groups extension holds no bearer token from one /login/idm/tokens grant",
    )
    jwks = await run.api(
        "rsa", "login_api.authentication_api.AuthenticationApi", "login", "idm_keys_get"
    )
    try:
        key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name])
    except (jwt.PyJWTError, KeyError) as exc:  # KeyError: no kid, or none of the JWKS's
        raise StepFailed(
            "emulator", f"the access token does not verify with the JWKS served: {exc!r}"
        ) from None
    run.expect(
        (claims.get("sub"), claims.get("scope")) == (BOT, "profile-manager"),
        f"the access token's subject and scope are {claims.get('sub')!r}, {claims.get('scope')!r}",
    )
