"""`configure_logging`: one readable line per record (or one JSON object), never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from symbot.logs import component_of, configure_logging

JWT = "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, ours = logging.getLogger(), logging.getLogger("symbot")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    yield
    root.handlers[:] = handlers
    root.setLevel(levels[0])
    ours.setLevel(levels[1])


@pytest.mark.usefixtures("restore_logging")
def test_readable_lines_name_the_component_and_who_and_hide_tokens() -> None:
    out = io.StringIO()
    configure_logging("INFO", identity="mybot@acme.symphony.com", stream=out)
    logging.getLogger("symbot.auth.session").info("logged in with sessionToken=%s", "s3cr3t")
    logging.getLogger("symbot.datafeed").debug("not shown at INFO")
    logging.getLogger("httpx").info("HTTP Request: not shown either")

    [line] = out.getvalue().splitlines()
    assert line.endswith(
        " INFO  auth      mybot@acme.symphony.com: logged in with sessionToken=***"
    )
    assert "s3cr3t" not in out.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_tracebacks_are_redacted_too() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", stream=out)
    try:
        raise ValueError(f"server said {JWT}")
    except ValueError:
        logging.getLogger("symbot.bot").exception("handler failed")
    text = out.getvalue()
    assert "handler failed" in text
    assert "ValueError: server said ***" in text
    assert "eyJ" not in text


@pytest.mark.usefixtures("restore_logging")
def test_structured_output_is_one_json_object_per_line() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", structured=True, identity="bot@pod", stream=out)
    logging.getLogger("symbot.datafeed").warning("datafeed %s is gone", "f1")
    logging.getLogger("symbot.client").debug(
        "key: -----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
    )

    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "WARNING"
    assert first["logger"] == "symbot.datafeed"
    assert first["component"] == "datafeed"
    assert first["who"] == "bot@pod"
    assert first["message"] == "datafeed f1 is gone"
    assert first["ts"].endswith("Z")
    assert second["message"] == "key: ***"


@pytest.mark.usefixtures("restore_logging")
def test_configuring_again_replaces_the_previous_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", stream=first)
    configure_logging("INFO", stream=second)
    logging.getLogger("symbot.bot").info("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


def test_unknown_level_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="DEBUG, INFO, WARNING or ERROR"):
        configure_logging("LOUD")


def test_component_is_the_part_of_symbot_a_logger_belongs_to() -> None:
    assert component_of("symbot.auth.session") == "auth"
    assert component_of("symbot.emulator.feeds") == "emulator"
    assert component_of("symbot") == "symbot"
    assert component_of("httpx") == "httpx"
