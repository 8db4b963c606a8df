"""The scripted conversation of `symbot demo`, and the summary it ends with.

Five scenes, each showing one thing symbot promises:

1. commands with typed arguments and `/help` in an IM;
2. a room, where the bot answers only when mentioned, and welcomes a newcomer;
3. tokens renewed *before* they expire, by the session's background refresher (no 401);
4. the pod revoking the bot's tokens: one 401, exactly one re-login, the call replayed;
5. the datafeed deleted on the server: a new one is created and nothing is lost.
"""

from __future__ import annotations

from attrs import frozen

from symbot.demo._stage import BOT, Counts, Stage

__all__ = ["Summary", "play", "print_summary", "summarize"]


@frozen
class Summary:
    """The figures the demo ends with; `ok` when every promise held."""

    messages_sent: int
    messages_handled: int
    replies_missing: int
    logins: Counts
    relogins_after_revocation: int | None  # None: no revocation scene (interactive)
    feeds_created: int
    feeds_deleted: int
    events_lost: int

    @property
    def ok(self) -> bool:
        return (
            self.events_lost == 0
            and self.replies_missing == 0
            and self.relogins_after_revocation in (None, 1)
        )


async def play(stage: Stage) -> int:
    """Play the five scenes; returns how many logins answered the revocation."""
    say, note, heading = stage.say, stage.transcript.note, stage.transcript.heading
    emu, im, room = stage.emulator, stage.im, stage.room

    heading("1 · commands in an IM: typed arguments and /help")
    await say("alice", im, "/help")
    await say("alice", im, "/price AAPL")
    await say("alice", im, "/convert 250 EUR USD")

    heading("2 · a room: the bot answers when mentioned")
    await say("bob", room, "morning all, anyone seen MSFT?", expect_reply=False)
    await say("bob", room, "/price MSFT", mention_bot=True)
    await say("alice", room, "/convert lots USD EUR", mention_bot=True)
    before = stage.bot_messages(room)
    note("room", "carol joins #trading")
    emu.room_event("USERJOINEDROOM", room, initiator="alice", affected_user="carol")
    await stage.expect_reply(room, before)

    heading("3 · tokens renewed before they expire")
    note("demo", f"the background refresher renews them at about 2/3 of {stage.token_lifetime:g} s")
    logins, counts = stage.session_logins(), stage.counts()
    renewed = await stage.wait_until(
        lambda: stage.session_logins() > logins, timeout=stage.token_lifetime * 2
    )
    change = stage.counts() - counts
    if renewed:
        note("demo", f"renewed with no 401: 401s served meanwhile: {change.unauthorized}")

    heading("4 · the pod revokes the bot's tokens")
    counts = stage.counts()
    emu.revoke_tokens(BOT)
    note("pod", f"an administrator revokes every token {BOT} holds")
    await say("alice", im, "/price TSLA")
    change = stage.counts() - counts
    note(
        "demo",
        f"{change.unauthorized} 401(s), answered by {change.pod_logins} pod + "
        f"{change.km_logins} key manager login(s); the reply was replayed",
    )

    heading("5 · the datafeed is deleted on the server")
    old_feeds = stage.delete_feeds()
    await stage.wait_until(
        lambda: any(feed.feed_id not in old_feeds for feed in emu.feeds(BOT)), timeout=10
    )
    await say("alice", im, "/price NVDA")
    await say("bob", room, "/quote AAPL", mention_bot=True)
    return change.pod_logins


def summarize(stage: Stage, relogins_after_revocation: int | None) -> Summary:
    """The summary of what the stage saw (call it after the bot stopped)."""
    assert stage.bot is not None
    lost = stage.lost()
    return Summary(
        messages_sent=len(stage.sent_to_bot),
        messages_handled=len(stage.sent_to_bot) - len(lost),
        replies_missing=stage.replies_missing,
        logins=stage.counts(),
        relogins_after_revocation=relogins_after_revocation,
        feeds_created=stage.bot.feed_stats.feeds_created,
        feeds_deleted=stage.feeds_deleted,
        events_lost=len(lost),
    )


def print_summary(stage: Stage, summary: Summary) -> None:
    plain = stage.transcript.plain
    stage.transcript.heading("summary")
    plain(f"  messages handled  {summary.messages_handled} of {summary.messages_sent}")
    why = ""
    relogins = summary.relogins_after_revocation
    if relogins is not None:
        renewals = summary.logins.pod_logins - 1 - relogins
        why = f": the first, {renewals} renewal(s) before expiry, {relogins} after the revocation"
    plain(
        f"  logins            {summary.logins.pod_logins} pod + {summary.logins.km_logins} "
        f"key manager{why}"
    )
    plain(f"  401s              {summary.logins.unauthorized}")
    plain(
        f"  datafeeds         {summary.feeds_created} created, "
        f"{summary.feeds_deleted} deleted by the server"
    )
    plain(f"  events lost       {summary.events_lost}")
    verdict = "every promise held" if summary.ok else "SOMETHING WENT WRONG (see above)"
    plain(f"\n{verdict}. Next: symbot emulator, then symbot run (see docs/getting-started.md)")
