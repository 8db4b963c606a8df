"""Every service against the emulator served over HTTPS (its own CA): real sockets, real TLS,
real multipart uploads and downloads."""

from __future__ import annotations

import pytest

from symbot.client import SymphonyClient
from symbot.emulator import Emulator
from symbot.emulator._keys import KeyPair
from symbot.errors import ForbiddenError, NotFoundError
from symbot.messages import bold
from symbot.services import Services

from .support import BOT, PEOPLE, bot_config, user_id

pytestmark = pytest.mark.anyio


async def test_a_tour_of_every_service_over_https(keys: KeyPair) -> None:
    async with Emulator() as emu:
        emu.add_user(BOT, public_key_pem=keys.public_key_pem)
        for username in PEOPLE:
            emu.add_user(username, public_key_pem=keys.public_key_pem)
        config = bot_config(emu.https_url, keys, ca_bundle=emu.ca_bundle)
        async with SymphonyClient(config) as client:
            services = Services(client)
            users, streams, messages = services.users, services.streams, services.messages

            alice = await users.get_by_username("alice")
            assert [u.username for u in await users.list_by_ids([alice.user_id, 1])] == ["alice"]
            assert [u.username async for u in users.search("bob")] == ["bob"]

            im = await streams.create_im(alice.user_id)
            assert (await streams.info(im)).members == (user_id(emu, BOT), alice.user_id)
            room = await streams.create_room("Ops", description="over TLS")
            await streams.add_member(room.room_id, alice.user_id)
            await streams.update_room(room.room_id, description="still TLS")
            assert (await streams.room_info(room.room_id)).description == "still TLS"
            assert len(await streams.members(room.room_id)) == 2
            await streams.remove_member(room.room_id, alice.user_id)
            assert [s.stream_id async for s in streams.list_streams()] == [im, room.room_id]

            sent = await messages.send(im, "file", attachments=[("a.bin", bytes(range(256)))])
            assert sent is not None
            assert await messages.download(sent, sent.attachments[0]) == bytes(range(256))
            new = await messages.update(im, sent.message_id, bold("file, v2"))
            assert new is not None
            assert (await messages.get(new.message_id)).text == "file, v2"
            assert [m.text async for m in messages.history(im, since=0)] == ["file, v2"]
            assert (await messages.suppress(new.message_id)).suppressed

            with pytest.raises(NotFoundError, match="no such stream"):
                await streams.info("nope")
            with pytest.raises(ForbiddenError):
                await messages.send(emu.create_im("alice", "bob"), "hi")
