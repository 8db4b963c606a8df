"""An Elements form bot: `/order` sends a pizza order form, and the submission is answered.

The form is built with symbot's Elements builders (every text escaped). When a person clicks
"Place order", `@on_form("order", action="place")` receives a `FormSubmission`: the values by
field name, the person who sent it. The bot checks the order, replaces the form with a
summary (`bot.messages.update`, so the form cannot be sent twice) and thanks them by name.
"Cancel" replaces it with a short note.

    symbot run examples/order_bot.py:OrderBot -c symbot-emulator/symbot.toml
"""

from __future__ import annotations

import sys

from symbot import (
    Bot,
    BotConfig,
    FormSubmission,
    Message,
    MessageML,
    bold,
    button,
    checkbox,
    command,
    dropdown,
    form,
    on_form,
    text_field,
)

SIZES = {"s": "Small", "m": "Medium", "l": "Large"}
TOPPINGS = {"cheese": "Extra cheese", "olives": "Olives", "basil": "Basil"}


def order_form() -> MessageML:
    """The order form: a name, a size, toppings, and two buttons."""
    return form(
        "order",
        bold("Your pizza"),
        text_field("name", label="Name on the box", required=True, max_length=40),
        dropdown("size", SIZES, label="Size", selected="m"),
        *(checkbox("toppings", value, text) for value, text in TOPPINGS.items()),
        button("place", "Place order"),
        button("cancel", "Cancel", style="secondary"),
    )


class OrderBot(Bot):
    """Takes pizza orders through an Elements form."""

    @command("/order")
    async def start_order(self, msg: Message) -> None:
        """Send the pizza order form."""
        await msg.reply(order_form())

    @on_form("order", action="place")
    async def place(self, order: FormSubmission) -> None:
        name = order.text("name").strip()
        size = SIZES.get(order.text("size"))
        toppings = [TOPPINGS[t] for t in order.choices("toppings") if t in TOPPINGS]
        if not name or size is None:
            await self.send_message(order.stream_id, "Please give a name and pick a size.")
            return
        summary = f"{size} pizza for {name}" + (f" with {', '.join(toppings)}" if toppings else "")
        if order.form_message_id:  # the form becomes the summary: it cannot be sent twice
            await self.messages.update(order.stream_id, order.form_message_id, bold(summary))
        who = (order.user and order.user.display_name) or "there"
        await self.send_message(order.stream_id, f"Thanks {who}, order placed: {summary}")

    @on_form("order", action="cancel")
    async def cancel(self, order: FormSubmission) -> None:
        if order.form_message_id:
            await self.messages.update(order.stream_id, order.form_message_id, "Order cancelled.")


if __name__ == "__main__":
    OrderBot(BotConfig.from_file(sys.argv[1] if len(sys.argv) > 1 else "symbot.toml")).run()
