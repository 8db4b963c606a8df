"""EntityJSON: the structured data a message carries beside its markup (mentions, ...)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "MENTION_ENTITY_TYPE",
    "mention_texts",
    "mentions_from_data",
    "parse_entity_json",
]

logger = logging.getLogger("symbot.messages")

MENTION_ENTITY_TYPE = "com.symphony.user.mention"
_USER_ID_TYPE = "com.symphony.user.userId"


def parse_entity_json(data: object) -> dict[str, Any]:
    """V4Message `data` (EntityJSON, delivered as a JSON *string*) → dict.

    A dict is accepted as is; anything malformed or not a JSON object gives `{}` (logged at
    debug level), never an exception: a message's text matters more than its entities.
    """
    if data is None or data == "" or data == "{}":  # most messages: no entities, no decoding
        return {}
    if isinstance(data, dict):
        return data
    if isinstance(data, str | bytes):
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: nested about 1,000 deep
            logger.debug("ignoring malformed EntityJSON data (%d chars)", len(data))
            return {}
        if isinstance(parsed, dict):
            return parsed
    logger.debug("ignoring EntityJSON data that is not a JSON object")
    return {}


def _mention_entities(data: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    """(entity key, user id) for each `com.symphony.user.mention` entity."""
    for key, entity in data.items():
        if not isinstance(entity, dict) or entity.get("type") != MENTION_ENTITY_TYPE:
            continue
        ids = entity.get("id")
        for ident in ids if isinstance(ids, list) else ():
            if not isinstance(ident, dict) or ident.get("type", _USER_ID_TYPE) != _USER_ID_TYPE:
                continue
            value = ident.get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                yield key, value
            elif isinstance(value, str) and value.strip().isdigit():
                yield key, int(value)


def mentions_from_data(data: Mapping[str, Any]) -> tuple[int, ...]:
    """User ids mentioned in EntityJSON, in order, without duplicates."""
    return tuple(dict.fromkeys(user_id for _, user_id in _mention_entities(data)))


def mention_texts(data: Mapping[str, Any], entity_texts: Mapping[str, str]) -> dict[int, str]:
    """User id → how their mention reads in the text (e.g. "@Jane Doe")."""
    texts: dict[int, str] = {}
    for key, user_id in _mention_entities(data):
        rendered = entity_texts.get(key)
        if rendered:
            texts.setdefault(user_id, rendered)
    return texts
