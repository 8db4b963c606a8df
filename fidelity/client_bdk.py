# mypy: disable-error-code="import-not-found,import-untyped,no-any-return,misc"
"""The official Symphony BDK for Python, unmodified, doing what the fidelity harness asks.

Runs inside the BDK's own virtualenv (`nox -s fidelity` makes it), started by the harness as
`<bdk python> -m fidelity.client_bdk` from the repository root; it imports nothing of symbot.
It is a generic executor, so that every step lives in the harness (fidelity/steps.py): it
reads one JSON request per line on stdin and answers one JSON line on stdout, in order.

Requests (`id` is echoed back):
- `{"op": "open", "bdk": NAME, "settings": {...}}`: a `SymphonyBdk` from that configuration
  (the content of a BDK config file), entered as an async context manager;
- `{"op": "call", "bdk": NAME, "target": "messages.send_message", "args": [...], "kwargs":
  {...}, "keep": NAME2}`: walk the dotted path from the BDK object (or from an object kept
  under NAME), calling each service factory on the way (`bdk.messages()`), call the last
  attribute with the arguments, await what needs awaiting. With `keep`, the result is kept
  under NAME2 for later calls (an `OboAuthSession`, the `OboServices` made from it), and the
  answer is only its type's name. An argument `{"$model": "pod_model.stream_filter.
  StreamFilter", "fields": {...}}` becomes that model of the BDK, built with its own
  `from_dict`; `{"$kept": NAME}` the object kept under NAME; `{"$class": "ext.group.
  SymphonyGroupBdkExtension"}` that class of the BDK (under `symphony.bdk`);
- `{"op": "api", "bdk": NAME, "api": "agent_api.datafeed_api.DatafeedApi", "client":
  "agent", "method": ..., "kwargs": {...}}`: a generated API class of the BDK on the BDK's
  own client for that role, with the bot session's tokens added where the method takes them;
- `{"op": "listen" | "unlisten", "bdk": NAME}`: start (stop) the BDK's datafeed loop with a
  listener that records every event the BDK parsed; `{"op": "events", "bdk": NAME,
  "count": N, "timeout": S}`: the recorded events once there are N (what ended the loop,
  if it ended);
- `{"op": "close", "bdk": NAME}`: close a BDK, or a kept object with clients of its own.

Answers: `{"id", "ok": true, "result": <JSON>}` or `{"id", "ok": false, "side", "error",
"status", "body"}`, where `side` names who is at fault: "emulator" (it answered an error, an
answer the BDK's OpenAPI models reject, or a broken connection), "BDK" (an error inside the
BDK's own code) or "harness" (a request this executor or the BDK's argument checks refuse).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import inspect
import json
import sys
from typing import Any

from symphony.bdk.core.config.loader import BdkConfigLoader
from symphony.bdk.core.service.datafeed.real_time_event_listener import RealTimeEventListener
from symphony.bdk.core.symphony_bdk import SymphonyBdk

from benchmarks.bdk.protocol import emit, read_command
from fidelity.blame import failure

STOP_TIMEOUT = 15.0
OPS = frozenset({"open", "call", "api", "listen", "events", "unlisten", "close"})


class Recorder(RealTimeEventListener):
    """Records every event the BDK's datafeed loop parsed (as the BDK's model, in JSON) and
    accepts none, so nothing else runs."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def is_accepting_event(self, event: Any, bot_info: Any) -> bool:
        self.events.append(jsonable(event))
        self.changed.set()
        return False


class Executor:
    def __init__(self) -> None:
        self.bdks: dict[str, Any] = {}
        self.kept: dict[str, Any] = {}
        self.loops: dict[str, tuple[Any, Recorder, asyncio.Task[Any]]] = {}

    async def open(self, bdk: str, settings: dict[str, Any]) -> None:
        instance = SymphonyBdk(BdkConfigLoader.load_from_content(json.dumps(settings)))
        await instance.__aenter__()
        self.bdks[bdk] = instance

    async def call(
        self,
        bdk: str,
        target: str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        keep: str | None = None,
    ) -> Any:
        obj = self.bdks[bdk] if bdk in self.bdks else self.kept[bdk]
        *path, last = target.split(".")
        for name in path:
            obj = getattr(obj, name)
            obj = obj() if callable(obj) else obj
        value = getattr(obj, last)
        if callable(value):
            value = value(*self.arguments(args or []), **self.arguments(kwargs or {}))
        if inspect.isawaitable(value):
            value = await value
        if keep is not None:
            self.kept[keep] = value
            return type(value).__name__
        return jsonable(value)

    def arguments(self, value: Any) -> Any:
        """The request's arguments as the BDK takes them: `{"$model": path, "fields": {...}}`
        built as the BDK's model, `{"$kept": name}` the object kept under that name,
        `{"$class": path}` the BDK's class at that path."""
        if isinstance(value, dict) and "$model" in value:
            module_name, _, class_name = value["$model"].rpartition(".")
            module = importlib.import_module(f"symphony.bdk.gen.{module_name}")
            return getattr(module, class_name).from_dict(value.get("fields", {}))
        if isinstance(value, dict) and "$kept" in value:
            return self.kept[value["$kept"]]
        if isinstance(value, dict) and "$class" in value:
            module_name, _, class_name = value["$class"].rpartition(".")
            return getattr(importlib.import_module(f"symphony.bdk.{module_name}"), class_name)
        if isinstance(value, list):
            return [self.arguments(item) for item in value]
        if isinstance(value, dict):
            return {key: self.arguments(item) for key, item in value.items()}
        return value

    async def api(
        self, bdk: str, api: str, client: str, method: str, kwargs: dict[str, Any] | None = None
    ) -> Any:
        instance = self.bdks[bdk]
        module_name, _, class_name = api.rpartition(".")
        api_class = getattr(importlib.import_module(f"symphony.bdk.gen.{module_name}"), class_name)
        factory = instance._api_client_factory  # the BDK's own clients for each role
        api_client = getattr(factory, f"get_{client}_client")()
        bound = getattr(api_class(api_client), method)
        arguments = dict(kwargs or {})
        accepted = inspect.signature(bound).parameters
        session = instance.bot_session()
        if "session_token" in accepted:
            arguments["session_token"] = await session.session_token
        if "key_manager_token" in accepted:
            arguments["key_manager_token"] = await session.key_manager_token
        return jsonable(await bound(**arguments))

    async def listen(self, bdk: str) -> None:
        loop = self.bdks[bdk].datafeed()
        recorder = Recorder()
        loop.subscribe(recorder)
        self.loops[bdk] = (loop, recorder, asyncio.create_task(loop.start()))

    async def events(self, bdk: str, count: int, timeout: float) -> list[dict[str, Any]]:  # noqa: ASYNC109
        _, recorder, task = self.loops[bdk]
        async with asyncio.timeout(timeout):
            while True:
                if task.done():
                    task.result()  # raises what ended the BDK's loop
                    raise RuntimeError("the BDK's datafeed loop returned")
                if len(recorder.events) >= count:
                    break
                recorder.changed.clear()
                waiter = asyncio.ensure_future(recorder.changed.wait())
                await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        return recorder.events[:count]

    async def unlisten(self, bdk: str) -> None:
        loop, _, task = self.loops.pop(bdk)
        await loop.stop()
        async with asyncio.timeout(STOP_TIMEOUT):
            await task

    async def close(self, bdk: str) -> None:
        """Close a BDK (its datafeed loop first), or a kept object that has clients of its
        own (`OboServices`); other kept objects are only forgotten."""
        if bdk in self.loops:
            await self.unlisten(bdk)
        if bdk in self.bdks:
            await self.bdks.pop(bdk).__aexit__(None, None, None)
        elif hasattr(kept := self.kept.pop(bdk), "close_clients"):
            await kept.close_clients()


def jsonable(value: Any) -> Any:
    """The BDK's models as their JSON (by alias), recursively; bytes as `{"$base64": ...}`;
    other values as they are."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, bytes | bytearray):
        return {"$base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


async def serve() -> None:
    executor = Executor()
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, read_command):
        request = json.loads(line)
        answer: dict[str, Any] = {"id": request.pop("id", None)}
        try:
            op = request.pop("op")
            if op not in OPS:
                raise ValueError(f"unknown op {op!r}; one of {sorted(OPS)}")
            answer |= {"ok": True, "result": await getattr(executor, op)(**request)}
        except Exception as exc:
            answer |= failure(exc)
        emit(answer)
    for name in [*executor.kept, *executor.bdks]:
        await executor.close(name)


if __name__ == "__main__":
    sys.exit(asyncio.run(serve()))
