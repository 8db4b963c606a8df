"""Drives the official BDK (fidelity/client_bdk.py, its own process and virtualenv) through
the steps of fidelity/steps.py against served emulators, and says who is at fault.

Two emulators serve over HTTPS on loopback, each with its own CA: `strict` (the defaults, as
a pod answers today) and `lenient` (`strict_content_type=False`, for certificate login by
clients that still send a Content-Type). Both know the bot (an RSA key and a client
certificate) and a person, alice, with an IM between them; `strict` also has an app (its own
RSA key) that may act on behalf of its users.

A step fails with `StepFailed(side, problem)`: "emulator" when it answered an error, an
answer the BDK's OpenAPI models reject, or state the step does not find; "BDK" when the
BDK's own code failed or did not answer; "harness" when the step itself is wrong (e.g. it
never reached the routes it claims to prove). After the steps, every route the emulator
serves must have been proved by a step, or be listed as one the BDK cannot call. What the
report prints goes through `symbot.errors.redact`: no token or key reaches the log.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.abc
from attrs import define, field, frozen

from benchmarks.bdk.harness import json_lines
from benchmarks.bdk.protocol import bdk_settings
from symbot.emulator import Emulator
from symbot.emulator._http import Route
from symbot.errors import redact

__all__ = [
    "APP",
    "BOT",
    "PERSON",
    "BdkProcess",
    "KnownDefect",
    "Run",
    "Step",
    "StepFailed",
    "bdk_class",
    "kept",
    "model",
    "registrar",
    "route_name",
    "run_fidelity",
    "uncovered_routes",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
BOT = "fidelity.bot"
PERSON = "alice"
APP = "fidelity-app"
ANSWER_TIMEOUT = 30.0
"""Seconds the BDK has to answer one request (a datafeed stop waits out one long poll)."""
BDK_RETRY = {"maxAttempts": 3, "initialIntervalMillis": 100, "maxIntervalMillis": 200}
"""The BDK's retry settings here (its defaults: 10 attempts, backing off up to 5 minutes).
Its first wait is `multiplier` seconds (at least 1) capped by `maxIntervalMillis`: so a
re-login after a 401 costs 0.2 s, not 1 s."""
LONG_POLL = 2.0
"""The emulators' long-poll timeout: short, so that stopping the BDK's loop is quick (and the
BDK meets empty batches, which it must handle too)."""


class StepFailed(Exception):
    """A step's verdict: `side` ("emulator", "BDK" or "harness") is at fault for `problem`."""

    def __init__(self, side: str, problem: str) -> None:
        super().__init__(f"{side} at fault: {problem}")
        self.side = side
        self.problem = problem


@frozen
class Step:
    """One thing the BDK does. `routes` ("POST /agent/v5/datafeeds", as the emulator spells
    them) are those the step proves on the emulator `on` ("strict" or "lenient")."""

    name: str
    run: Callable[[Run], Awaitable[None]]
    routes: tuple[str, ...] = ()
    on: str = "strict"


StepFunction = Callable[["Run"], Awaitable[None]]


def registrar(steps: list[Step]) -> Callable[..., Callable[[StepFunction], StepFunction]]:
    """`@step(name, *routes, on=...)`, a decorator that appends a step to `steps`, in order."""

    def step(name: str, *routes: str, on: str = "strict") -> Callable[[StepFunction], StepFunction]:
        def register(function: StepFunction) -> StepFunction:
            steps.append(Step(name, function, routes, on))
            return function

        return register

    return step


class NoAnswer(Exception):
    """The BDK executor did not answer a request in time, or is gone."""


class BdkProcess:
    """The BDK executor: one JSON request per line in, one answer per line out, matched by
    id (an answer that comes after its request timed out is dropped)."""

    def __init__(
        self,
        process: anyio.abc.Process,
        stderr: Path,
        answers: anyio.abc.ObjectReceiveStream[dict[str, Any]],
    ) -> None:
        self._process = process
        self._stderr = stderr
        self._answers = answers
        self._ids = 0

    @classmethod
    @asynccontextmanager
    async def start(cls, python: str, workdir: Path) -> AsyncIterator[BdkProcess]:
        stderr = workdir / "bdk.stderr"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        with stderr.open("wb") as sink:
            process = await anyio.open_process(
                [python, "-m", "fidelity.client_bdk"], cwd=REPO_ROOT, env=env, stderr=sink
            )
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](100)
        async with process, anyio.create_task_group() as task_group:
            task_group.start_soon(cls._read_answers, process, send)
            try:
                yield cls(process, stderr, receive)
            finally:
                assert process.stdin is not None
                await process.stdin.aclose()  # the executor closes its BDKs and exits
                with anyio.move_on_after(10):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                task_group.cancel_scope.cancel()

    @staticmethod
    async def _read_answers(
        process: anyio.abc.Process, send: anyio.abc.ObjectSendStream[dict[str, Any]]
    ) -> None:
        assert process.stdout is not None
        async with send:
            async for answer in json_lines(process.stdout):
                await send.send(answer)

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """The executor's answer to one request (see fidelity/client_bdk.py); NoAnswer
        after ANSWER_TIMEOUT seconds or when the process has exited."""
        self._ids += 1
        assert self._process.stdin is not None
        line = json.dumps({"id": self._ids, "op": op, **fields}) + "\n"
        try:
            await self._process.stdin.send(line.encode())
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            raise NoAnswer(f"the BDK process is gone: {self.stderr_tail()}") from None
        with anyio.move_on_after(ANSWER_TIMEOUT):
            async for answer in self._answers:
                if answer.get("id") == self._ids:
                    return answer
            raise NoAnswer(f"the BDK process exited: {self.stderr_tail()}")
        raise NoAnswer(f"no answer to {op} within {ANSWER_TIMEOUT:g} s")

    def stderr_tail(self, lines: int = 5) -> str:
        text = self._stderr.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(nothing on stderr)"


@frozen
class KnownDefect:
    """A failure of the BDK's own making that a step tolerates (the step still checks the
    emulator's side): `error` is found in the failure's text, `why` explains the defect."""

    error: str
    why: str


@define
class Run:
    """What the steps share: the emulators, the BDK, and the places of the conversation."""

    strict: Emulator
    lenient: Emulator
    bdk: BdkProcess
    workdir: Path
    im: str
    places: dict[str, str] = field(factory=dict)  # streams a step made, for later steps
    defects: list[KnownDefect] = field(factory=list)  # met during the current step

    def settings(self, emulator: Emulator, *, certificate: bool = False) -> dict[str, Any]:
        """BDK settings for the bot on `emulator`: RSA login, or certificate login; brief
        retries (`BDK_RETRY`) so that a failing call fails with its own error, soon."""
        prefix = "lenient" if emulator is self.lenient else "strict"
        credentials = (
            {"certificate": str(self.workdir / f"{prefix}-bot-certificate.pem")}
            if certificate
            else {"private_key": str(self.workdir / "bot-private-key.pem")}
        )
        ca = str(self.workdir / f"{prefix}-ca.pem")
        return bdk_settings(emulator.https_url, ca, BOT, **credentials) | {"retry": BDK_RETRY}

    def app_settings(self) -> dict[str, Any]:
        """BDK settings for the app on `strict` alone, with no bot account: an app backend
        (on-behalf-of, extension-app authentication), as the BDK's `app` section has it."""
        settings = self.settings(self.strict)
        del settings["bot"]
        app_key = {"path": str(self.workdir / "app-private-key.pem")}
        return settings | {"app": {"appId": APP, "privateKey": app_key}}

    async def open(self, bdk: str, settings: dict[str, Any]) -> None:
        await self._result("open", bdk=bdk, settings=settings)

    async def call(
        self, bdk: str, target: str, *args: Any, keep: str | None = None, **kwargs: Any
    ) -> Any:
        """`target` ("messages.send_message") called on the BDK `bdk`, or on an object kept
        under that name, with the arguments (`model(...)` for the BDK's models, `kept(...)`
        for kept objects, `bdk_class(...)` for its classes). With `keep`, the result stays
        in the BDK's process under that name (the answer is only its type's name)."""
        return await self._result(
            "call", bdk=bdk, target=target, args=list(args), kwargs=kwargs, keep=keep
        )

    async def api(
        self,
        bdk: str,
        api: str,
        client: str,
        method: str,
        *,
        despite: KnownDefect | None = None,
        **kwargs: Any,
    ) -> Any:
        """A generated API class of the BDK, on its client for `client` (see client_bdk);
        None when it failed with the known defect `despite`."""
        fields = {"api": api, "client": client, "method": method, "kwargs": kwargs}
        return await self._result("api", despite=despite, bdk=bdk, **fields)

    async def attempt(self, bdk: str, target: str, *args: Any) -> dict[str, Any]:
        """Call `target` (as `call` does) and return the executor's answer, whether the call
        succeeded (`ok`, `result`) or failed (`side`, `error`, `status`, `body`): for a step
        that judges a failure itself."""
        return await self._request("call", bdk=bdk, target=target, args=list(args))

    async def refused(self, bdk: str, target: str, *args: Any) -> dict[str, Any]:
        """Call `target`, which must fail; the failure (status, body, error)."""
        answer = await self.attempt(bdk, target, *args)
        if answer.get("ok"):
            raise StepFailed("emulator", f"{target} was accepted: {answer.get('result')!r}")
        return answer

    async def listen(self, bdk: str, emulator: Emulator) -> None:
        """Start the BDK's datafeed loop; return once it waits on a read on `emulator`."""
        await self._result("listen", bdk=bdk)
        with anyio.move_on_after(ANSWER_TIMEOUT):
            while not any(feed.readers for feed in emulator.feeds(BOT)):
                await self.events(bdk, 0)  # fails with what ended the loop, if it ended
                await anyio.sleep(0.02)
            return
        raise StepFailed("BDK", "its datafeed loop runs, but never read the feed")

    async def events(self, bdk: str, count: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._result(
            "events", bdk=bdk, count=count, timeout=ANSWER_TIMEOUT - 5
        )
        return found

    async def unlisten(self, bdk: str) -> None:
        await self._result("unlisten", bdk=bdk)

    async def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        """The BDK's answer; a BDK that does not answer is blamed on the emulator if it kept
        calling it meanwhile (retrying what the emulator answered), else on the BDK."""
        before = {id(e): len(e.app.received) for e in (self.strict, self.lenient)}
        try:
            return await self.bdk.request(op, **fields)
        except NoAnswer as silent:
            calls = [
                f"{request.method} {request.path}"
                for emulator in (self.strict, self.lenient)
                for request in list(emulator.app.received)[before[id(emulator)] :]
            ]
            if calls:
                raise StepFailed(
                    "emulator",
                    f"{silent}; the BDK kept calling the emulator meanwhile ({len(calls)} "
                    f"requests, the last {', '.join(calls[-3:])}): check its answers",
                ) from None
            raise StepFailed("BDK", f"{silent}, and called nothing meanwhile") from None

    async def _result(self, op: str, *, despite: KnownDefect | None = None, **fields: Any) -> Any:
        answer = await self._request(op, **fields)
        if answer.get("ok"):
            return answer.get("result")
        error = str(answer.get("error"))
        if despite is not None and despite.error in error:
            self.defects.append(despite)
            return None
        said = f"; it answered {answer['status']}: {answer['body']}" if answer.get("status") else ""
        raise StepFailed(str(answer.get("side")), f"{error}{said}")

    def expect(self, holds: bool, problem: str, *, side: str = "emulator") -> None:
        if not holds:
            raise StepFailed(side, problem)


def model(path: str, /, **fields: Any) -> dict[str, Any]:
    """An argument that the executor builds as the BDK's model at `path` (under
    `symphony.bdk.gen`, e.g. "pod_model.stream_filter.StreamFilter") from `fields`."""
    return {"$model": path, "fields": fields}


def kept(name: str) -> dict[str, str]:
    """An argument that the executor replaces with the object it kept under `name`."""
    return {"$kept": name}


def bdk_class(path: str) -> dict[str, str]:
    """An argument that the executor replaces with the BDK's class at `path` (under
    `symphony.bdk`, e.g. "ext.group.SymphonyGroupBdkExtension")."""
    return {"$class": path}


def route_name(route: Route) -> str:
    return f"{route.method} {route.path}"


def _proved(emulator: Emulator, routes: Iterable[str], since: int) -> list[str]:
    """Of `routes`, those no request received since the `since`-th one reached."""
    by_name = {route_name(route): route for route in emulator.app.routes}
    received = list(emulator.app.received)[since:]
    missing = []
    for name in routes:
        route = by_name.get(name)
        if route is None or not any(
            request.method == route.method and route.pattern.match(request.path)
            for request in received
        ):
            missing.append(name)
    return missing


async def _run_step(run: Run, step: Step) -> StepFailed | None:
    emulator = run.lenient if step.on == "lenient" else run.strict
    since = len(emulator.app.received)
    run.defects.clear()
    try:
        await step.run(run)
    except StepFailed as failed:
        return failed
    except Exception as exc:  # the step's own code broke
        return StepFailed("harness", f"{type(exc).__name__}: {exc}")
    missing = _proved(emulator, step.routes, since)
    if missing:
        return StepFailed("harness", f"the step never reached {', '.join(missing)}")
    return None


def _prepare(strict: Emulator, lenient: Emulator, workdir: Path) -> str:
    """The same bot and person on both emulators, the app on `strict`; key, CA and
    certificate files for the BDK. Returns the IM's stream id on the strict emulator."""
    bot = strict.add_user(BOT, display_name="Fidelity Bot")
    assert bot.private_key_pem is not None
    (workdir / "bot-private-key.pem").write_bytes(bot.private_key_pem)
    lenient.add_user(BOT, display_name="Fidelity Bot", public_key_pem=bot.public_key_pem)
    for prefix, emulator in (("strict", strict), ("lenient", lenient)):
        emulator.add_user(PERSON, display_name="Alice Liddell", public_key_pem=bot.public_key_pem)
        (workdir / f"{prefix}-ca.pem").write_bytes(emulator.ca_pem)
        certificate = emulator.issue_certificate(BOT)
        pem = certificate.cert_pem + certificate.key_pem  # one file, as the BDK wants
        (workdir / f"{prefix}-bot-certificate.pem").write_bytes(pem)
    strict.add_app(APP, name="Fidelity App").write_private_key(workdir / "app-private-key.pem")
    return strict.create_im(BOT, PERSON)


async def run_fidelity(
    bdk_python: str, steps: Iterable[Step], not_callable: dict[str, str], out: TextIO
) -> bool:
    """Run every step, print a verdict per step and the route coverage; True when all hold."""
    steps = list(steps)
    failures = 0
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="symbot-fidelity-")))
        strict = await stack.enter_async_context(Emulator(long_poll_timeout=LONG_POLL))
        lenient = await stack.enter_async_context(
            Emulator(long_poll_timeout=LONG_POLL, strict_content_type=False)
        )
        im = _prepare(strict, lenient, workdir)
        bdk = await stack.enter_async_context(BdkProcess.start(bdk_python, workdir))
        run = Run(strict, lenient, bdk, workdir, im)
        print(f"fidelity: the official BDK against the emulator at {strict.https_url}", file=out)
        for step in steps:
            started = time.monotonic()
            failed = await _run_step(run, step)
            took = time.monotonic() - started
            verdict = "PASS" if failed is None else "FAIL"
            print(f"  {verdict}  {step.name:<52} {took:5.2f} s", file=out, flush=True)
            for defect in run.defects:
                print(f"        known BDK defect, tolerated: {defect.why}", file=out)
            if failed is not None:
                failures += 1
                print(f"        {redact(str(failed))}", file=out, flush=True)
                if failed.side == "BDK":
                    print(f"        BDK stderr: {redact(bdk.stderr_tail())}", file=out, flush=True)
        uncovered = uncovered_routes(strict.app.routes, steps, not_callable)
    for name, why in sorted(not_callable.items()):
        print(f"  n/a   {name}: {why}", file=out)
    for name in uncovered:
        print(f"  FAIL  no step proves {name}: add one to fidelity/steps.py", file=out)
    print(
        f"fidelity: {len(steps) - failures} of {len(steps)} steps passed; "
        f"{len(uncovered)} emulator routes proved by no step",
        file=out,
        flush=True,
    )
    return failures == 0 and not uncovered


def uncovered_routes(
    routes: Iterable[Route], steps: Iterable[Step], not_callable: dict[str, str]
) -> list[str]:
    """The emulator's routes that no step proves and that are not known to be out of the
    BDK's reach: each is a step missing from fidelity/steps.py."""
    proved = {name for step in steps for name in step.routes}
    return [
        route_name(route)
        for route in routes
        if route_name(route) not in proved and route_name(route) not in not_callable
    ]
