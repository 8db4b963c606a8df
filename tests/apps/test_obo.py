"""On behalf of users, end to end over HTTPS against the served emulator: the app's session,
a user's session by username or id, messages sent as the user, a 401 renewing that user's
session once, the cache bound, `Bot.obo`, and each refusal."""

from __future__ import annotations

import logging

import pytest
from attrs import evolve

from symbot.apps import App
from symbot.auth import KeyPair
from symbot.bot import Bot, on_message
from symbot.config import AppAuth, BotConfig
from symbot.emulator import Emulator
from symbot.errors import AuthenticationError, ConfigError
from symbot.messages import Message
from symbot.testing import BotHarness

from .conftest import APP_ID, MakeApp, app_config

pytestmark = pytest.mark.anyio

APP_LOGIN = "/login/pubkey/app/authenticate"


def obo_logins(emu: Emulator) -> int:
    return sum(n for path, n in emu.counters.logins.items() if "/login/pubkey/app/user" in path)


async def test_an_app_sends_as_a_user_by_name_and_by_id_with_the_users_session(
    served: Emulator, make_app: MakeApp
) -> None:
    im = served.create_im("alice", "bob")
    async with make_app() as app:
        async with app.obo(username="alice") as alice:
            assert (await alice.session_info()).username == "alice"
            sent = await alice.send_message(im, "sent by the app <as> alice")
        async with app.obo(user_id=served.user("bob").user_id) as bob:
            reply = await bob.send_message(im, "and bob answers")
        async with app.obo(username="alice") as alice_again:  # cached: no new login
            assert alice_again.session is alice.session
            assert sent is not None
            await sent.reply("a reply, still as alice")
    messages = [(m.sender, m.text) for m in served.sent_messages()]
    assert messages == [
        ("alice", "sent by the app <as> alice"),
        ("bob", "and bob answers"),
        ("alice", "a reply, still as alice"),
    ]
    assert reply is not None
    assert served.counters.logins[APP_LOGIN] == 1
    assert obo_logins(served) == 2


async def test_a_401_renews_that_users_session_once_and_replays(
    served: Emulator, make_app: MakeApp
) -> None:
    im = served.create_im("alice", "bob")
    async with make_app() as app, app.obo(username="alice") as alice:
        await alice.send_message(im, "one")
        served.expire_tokens("alice")
        await alice.send_message(im, "two")
        assert alice.session.logins == 2
    assert obo_logins(served) == 2
    assert served.counters.logins[APP_LOGIN] == 1  # the app's own session is not touched


async def test_an_expired_app_session_is_renewed_once_for_the_next_obo_login(
    served: Emulator, make_app: MakeApp
) -> None:
    async with make_app() as app:
        async with app.obo(username="alice"):
            pass
        served.expire_tokens(APP_ID)
        async with app.obo(username="bob") as bob:
            assert (await bob.session_info()).username == "bob"
    assert served.counters.logins[APP_LOGIN] == 2


async def test_sessions_are_cached_per_user_with_a_bound(
    served: Emulator, make_app: MakeApp
) -> None:
    async with make_app(obo_cache_size=2) as app:
        for name in ("alice", "bob", "alice", "carol", "alice", "bob"):
            async with app.obo(username=name):
                pass
    # alice stays cached while used; bob is dropped when carol comes, and logs in again
    assert obo_logins(served) == 4


async def test_an_app_the_pod_does_not_know_is_refused_clearly(make_app: MakeApp) -> None:
    stranger = make_app(config=lambda c: evolve(c, app=evolve(c.app, app_id="unknown-app")))
    async with stranger:
        with pytest.raises(AuthenticationError, match="invalid app") as refused:
            async with stranger.obo(username="alice"):
                pass
    assert "app 'unknown-app' is registered on the pod" in str(refused.value)
    assert refused.value.status == 401


async def test_a_user_who_has_not_installed_the_app_is_refused_with_403(
    served: Emulator, make_app: MakeApp
) -> None:
    served.set_app_entitlement(APP_ID, "carol", entitled=False)
    async with make_app() as app:
        with pytest.raises(AuthenticationError, match="403") as refused:
            async with app.obo(username="carol"):
                pass
        async with app.obo(username="alice"):  # others still fine
            pass
    assert "not entitled to act on behalf of 'carol'" in str(refused.value)
    assert "installed the app" in refused.value.hint
    assert served.counters.logins[APP_LOGIN] == 1  # a 403 costs no app re-login


async def test_an_unknown_user_is_refused_after_one_renewal_of_the_app_session(
    served: Emulator, make_app: MakeApp
) -> None:
    async with make_app() as app:
        with pytest.raises(AuthenticationError, match="no nobody on this pod"):
            async with app.obo(username="nobody"):
                pass
    assert served.counters.logins[APP_LOGIN] == 2


async def test_an_app_key_the_pod_does_not_hold_is_refused(
    served: Emulator, make_app: MakeApp, people_keys: KeyPair
) -> None:
    async with make_app(private_key=people_keys.private_key_pem) as app:
        with pytest.raises(AuthenticationError, match="invalid token signature"):
            async with app.obo(username="alice"):
                pass


def test_an_app_needs_its_configuration() -> None:
    with pytest.raises(ConfigError, match="no app is configured"):
        App(BotConfig(pod_url="https://acme.symphony.com"))


class ActingBot(Bot):
    """Answers every message by having the app repeat it as its sender."""

    @on_message(predicate=lambda msg: not msg.text.startswith("(via the app)"))
    async def repeat(self, msg: Message) -> None:
        async with self.obo(user_id=msg.sender.user_id) as sender:
            await sender.send_message(msg.stream.stream_id, f"(via the app) {msg.text}")


async def test_a_bot_with_an_app_acts_on_behalf_of_its_users(app_keys: KeyPair) -> None:
    emu = Emulator()
    emu.add_app(APP_ID, public_key_pem=app_keys.public_key_pem)
    app = AppAuth(app_id=APP_ID, private_key=app_keys.private_key_pem)
    async with BotHarness(ActingBot, emulator=emu, configure=lambda c: evolve(c, app=app)) as h:
        im = h.im("alice")
        await h.say("alice", im, "hello")
        await h.wait_until(
            lambda: any(m.text == "(via the app) hello" for m in emu.sent_messages())
        )
    assert [m.sender for m in emu.sent_messages() if m.text.startswith("(via")] == ["alice"]


async def test_bot_obo_says_what_is_missing(app_keys: KeyPair) -> None:
    async with BotHarness(ActingBot) as h:
        with pytest.raises(ConfigError, match="no app is configured"):
            h.bot.obo(username="alice")
    app = AppAuth(app_id=APP_ID, private_key=app_keys.private_key_pem)
    idle = ActingBot(evolve(h.config, app=app))
    with pytest.raises(RuntimeError, match="not serving"):
        idle.obo(username="alice")


async def test_no_app_secret_reaches_logs_or_reprs(
    served: Emulator, app_keys: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    passphrase = "app passphrase 7f3a"
    encrypted = _encrypted(app_keys, passphrase)
    config = evolve(
        app_config(served, app_keys),
        app=AppAuth(app_id=APP_ID, private_key=encrypted, passphrase=passphrase),
    )
    im = served.create_im("alice", "bob")
    with caplog.at_level(logging.DEBUG):
        async with App(config) as app, app.obo(username="alice") as alice:
            await alice.send_message(im, "hi")
            served.expire_tokens("alice")
            await alice.send_message(im, "again")
            tokens = [app.session.current, alice.session.current]
            texts = [
                repr(config),
                repr(app),
                repr(alice),
                repr(app.session.current),
                repr(alice.session.current),
            ]
    secrets = [passphrase, *encrypted.splitlines()[1:-1]]
    secrets += [t.session_token for t in tokens if t is not None]
    everything = "\n".join([*texts, *(r.getMessage() for r in caplog.records)])
    assert [s for s in secrets if s in everything] == []


def _encrypted(keys: KeyPair, passphrase: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(keys.private_key_pem, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    ).decode()
