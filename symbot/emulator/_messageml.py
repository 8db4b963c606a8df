"""MessageML as a pod reads it: validated, converted to PresentationML, mentions resolved.

`to_presentation_ml()` is the one path every message takes (API or emulator controls):
the MessageML is parsed with `xml.etree.ElementTree` after refusing any DOCTYPE or ENTITY
declaration, so no entity expansion (XML bomb) can happen; Elements forms are checked as a
pod checks them (`symbot.emulator._elements`); `<mention>` becomes an entity span plus an
EntityJSON entry.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from symbot.emulator._directory import UserDirectory, UserRecord
from symbot.emulator._elements import check_forms
from symbot.emulator._feeds import AgentApiError

__all__ = ["MENTION_TYPE", "parse_message_ml", "to_presentation_ml"]

MENTION_TYPE = "com.symphony.user.mention"
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_message_ml(message_ml: str) -> ET.Element:
    """The `<messageML>` root of `message_ml`; AgentApiError 400 for anything a pod refuses
    (declarations, malformed XML, another root, an empty message, an invalid form)."""
    if _DECLARATION.search(message_ml):
        raise AgentApiError(400, "MessageML must not contain DOCTYPE or ENTITY declarations")
    try:
        root = ET.fromstring(message_ml)  # noqa: S314 - declarations refused above
    except ET.ParseError as exc:
        raise AgentApiError(400, f"MessageML is not well-formed XML: {exc}") from None
    if root.tag != "messageML":
        raise AgentApiError(400, f"MessageML must be rooted in <messageML>, not <{root.tag}>")
    if not (root.text or "").strip() and len(root) == 0:
        raise AgentApiError(400, "the message is empty")
    check_forms(root)
    return root


def to_presentation_ml(
    message_ml: str, directory: UserDirectory, data: str | None = None
) -> tuple[str, str | None, str]:
    """Validate MessageML and convert it: returns (PresentationML, EntityJSON or None, text).

    `<mention uid="…"/>` and `<mention email="…"/>` become entity spans with
    `com.symphony.user.mention` entities merged into `data` (the sender's EntityJSON).
    Raises AgentApiError 400 for anything a pod would refuse.
    """
    root = parse_message_ml(message_ml)
    entities = _parse_entity_json(data)
    div = ET.Element("div", {"data-format": "PresentationML", "data-version": "2.0"})
    div.text = root.text
    for child in root:
        div.append(_convert(child, entities, directory))
    presentation = ET.tostring(div, encoding="unicode")
    text = _plain_text(div)
    return presentation, json.dumps(entities) if entities else None, text


def _plain_text(node: ET.Element) -> str:
    parts = [node.text or ""]
    for child in node:
        parts.append("\n" if child.tag == "br" else _plain_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _parse_entity_json(data: str | None) -> dict[str, Any]:
    if data is None or not data.strip():
        return {}
    try:
        entities = json.loads(data)
    except ValueError:
        raise AgentApiError(400, "data is not valid JSON (EntityJSON expected)") from None
    if not isinstance(entities, dict):
        raise AgentApiError(400, "data must be a JSON object (EntityJSON)")
    return entities


def _convert(node: ET.Element, entities: dict[str, Any], directory: UserDirectory) -> ET.Element:
    if node.tag != "mention":
        copy = ET.Element(node.tag, dict(node.attrib))
        copy.text, copy.tail = node.text, node.tail
        for child in node:
            copy.append(_convert(child, entities, directory))
        return copy
    user = _mentioned_user(node, directory)
    key = next(str(n) for n in range(len(entities) + 1) if str(n) not in entities)
    entities[key] = {
        "type": MENTION_TYPE,
        "version": "1.0",
        "id": [{"type": "com.symphony.user.userId", "value": user.user_id}],
    }
    span = ET.Element("span", {"class": "entity", "data-entity-id": key})
    span.text = f"@{user.display_name}"
    span.tail = node.tail
    return span


def _mentioned_user(node: ET.Element, directory: UserDirectory) -> UserRecord:
    uid, mail = node.get("uid"), node.get("email")
    if uid is not None:
        try:
            return directory.by_id(int(uid))
        except (ValueError, KeyError):
            raise AgentApiError(400, f"<mention uid={uid!r}> names no user of this pod") from None
    for user in directory:
        if mail is not None and user.email == mail:
            return user
    raise AgentApiError(400, "<mention> needs the uid or email of a user of this pod")
