"""A small HTTP/1.1 server for the emulator's ASGI app, with real TLS and client certificates.

Why not hypercorn or uvicorn: neither puts the TLS peer certificate into the ASGI scope, and the
emulator's certificate-authentication endpoints must see the client certificate the way a real
Symphony session-auth endpoint does. So this module serves ASGI over anyio TCP listeners (wrapped
in anyio's TLS streams when given an `ssl.SSLContext`), speaks HTTP/1.1 through h11, and fills
the ASGI `tls` extension (`scope["extensions"]["tls"]["client_cert_chain"]`).

Contract:
- `async with AsgiServer(app) as server:` serves `server.url` (port ephemeral when `port=0`);
  leaving the block stops accepting and cancels open connections and in-flight handlers at once.
- HTTP/1.1 keep-alive, Content-Length or chunked request bodies, `Connection: close`; no
  pipelining. A malformed request gets a 400 and the connection closes.
- The app gets the whole body in one `http.request`, then `http.disconnect` once the client goes
  away (or the response is complete). A send after the client left raises `ClientDisconnected`
  (an `OSError`, as ASGI 2.4 specifies), so the app knows its answer was never written.
- An app exception becomes a 500 (logged at ERROR); `DropConnection` closes the socket with no
  response; a failed TLS handshake closes that connection (logged at DEBUG). One connection's
  failure never affects another.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple, Unpack
from urllib.parse import unquote

import anyio
import anyio.abc
import h11
from anyio.streams.tls import TLSAttribute, TLSStream
from cryptography import x509

from symbot._lifecycle import AsyncResource
from symbot.emulator._asgi import ASGIApp, DropConnection, Message, Scope

__all__ = ["AsgiServer", "ClientDisconnected", "server_ssl_context"]

logger = logging.getLogger("symbot.emulator")

HANDSHAKE_TIMEOUT = 10.0
RECEIVE_SIZE = 65536
TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
# What a vanished peer looks like on anyio streams (ssl.SSLError is an OSError).
GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


class ClientDisconnected(OSError):
    """Raised by the ASGI `send` of a request whose client has gone away: the answer was not
    written (the ASGI 2.4 "disconnected client send exception")."""


def server_ssl_context(
    cert_pem: bytes, key_pem: bytes, *, client_ca_pem: bytes | None = None
) -> ssl.SSLContext:
    """A server-side TLS context for `cert_pem`/`key_pem`.

    With `client_ca_pem`, clients may present a certificate (CERT_OPTIONAL); one that does not
    chain to that CA (and only that CA) fails the handshake. Without it, no certificate is asked.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain only reads files (load_verify_locations takes PEM text directly).
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        context.load_cert_chain(cert_path, key_path)
    if client_ca_pem is not None:
        context.load_verify_locations(cadata=client_ca_pem.decode("ascii"))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


_T = TypeVar("_T")
_Args = TypeVarTuple("_Args")


class _AlertingTLSStream(TLSStream):
    """anyio's TLS stream, except that a failed handshake still sends its TLS alert.

    anyio drops the alert OpenSSL queued ("unknown ca", "certificate required") when the
    handshake fails; a real server sends it, and clients tell a refused certificate from a
    dropped connection by it.
    """

    async def _call_sslobject_method(
        self, func: Callable[[Unpack[_Args]], _T], *args: *_Args
    ) -> _T:
        try:
            return await super()._call_sslobject_method(func, *args)
        except ssl.SSLError:
            alert = self._write_bio.read()
            if alert:
                with (
                    anyio.move_on_after(1),
                    contextlib.suppress(OSError, anyio.BrokenResourceError),
                ):
                    await self.transport_stream.send(alert)
            raise


class AsgiServer(AsyncResource):
    """HTTP/1.1 (h11) server on anyio sockets, optional TLS; fills the ASGI `tls` extension
    (scope["extensions"]["tls"]["client_cert_chain"] = [PEM str, ...]) with the peer certificate.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._scheme = "https" if ssl_context is not None else "http"
        self._cipher_ids: dict[str, int] = (
            {c["name"]: c["id"] & 0xFFFF for c in ssl_context.get_ciphers()}
            if ssl_context is not None
            else {}
        )

    @property
    def url(self) -> str:
        """The base URL, e.g. "https://127.0.0.1:54321" (the bound port once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self._scheme}://{host}:{self.port}"

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        listeners = [lst for lst in listener.listeners if isinstance(lst, anyio.abc.SocketListener)]
        self.port = int(_extra(listener, anyio.abc.SocketAttribute.local_port))
        try:
            async with anyio.create_task_group() as task_group:
                for socket_listener in listeners:
                    task_group.start_soon(self._accept_loop, socket_listener, task_group)
                logger.debug("serving %s", self.url)
                try:
                    yield
                finally:
                    task_group.cancel_scope.cancel()
        finally:
            for socket_listener in listeners:
                await anyio.aclose_forcefully(socket_listener)

    async def _accept_loop(
        self, listener: anyio.abc.SocketListener, task_group: anyio.abc.TaskGroup
    ) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:  # e.g. out of file descriptors; keep listening
                logger.warning("accepting a connection on %s failed: %s", self.url, exc)
                await anyio.sleep(0.1)
                continue
            task_group.start_soon(self._connection, stream)

    async def _connection(self, sock: anyio.abc.SocketStream) -> None:
        stream: anyio.abc.ByteStream = sock
        try:
            if self.ssl_context is not None:
                stream = await self._handshake(sock, self.ssl_context)
                if stream is sock:
                    return
            await _Connection(self, stream).serve()
        except Exception:
            logger.exception("connection to %s failed", self.url)
        finally:
            await anyio.aclose_forcefully(stream)

    async def _handshake(
        self, sock: anyio.abc.SocketStream, context: ssl.SSLContext
    ) -> anyio.abc.ByteStream:
        """The TLS stream over `sock`, or `sock` itself when the handshake failed."""
        with anyio.move_on_after(HANDSHAKE_TIMEOUT):
            try:
                return await _AlertingTLSStream.wrap(
                    sock, server_side=True, ssl_context=context, standard_compatible=False
                )
            except GONE as exc:
                logger.debug("TLS handshake with %s failed: %r", _peer(sock), exc)
                return sock
        logger.debug("TLS handshake with %s timed out", _peer(sock))
        return sock

    def _scope(self, stream: anyio.abc.ByteStream, request: h11.Request) -> Scope:
        raw_path, _, query = request.target.partition(b"?")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method.decode("ascii"),
            "scheme": self._scheme,
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": list(request.headers),  # h11 lower-cases the names
            "client": _address(stream, anyio.abc.SocketAttribute.remote_address),
            "server": _address(stream, anyio.abc.SocketAttribute.local_address),
            "extensions": {},
        }
        if self.ssl_context is not None:
            scope["extensions"]["tls"] = self._tls_extension(stream)
        return scope

    def _tls_extension(self, stream: anyio.abc.ByteStream) -> dict[str, Any]:
        der = _extra(stream, TLSAttribute.peer_certificate_binary)
        cipher = _extra(stream, TLSAttribute.cipher)
        return {
            "server_cert": None,
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "client_cert_name": (
                x509.load_der_x509_certificate(der).subject.rfc4514_string() if der else None
            ),
            "client_cert_error": None,
            "tls_version": TLS_VERSIONS.get(_extra(stream, TLSAttribute.tls_version) or ""),
            "cipher_suite": self._cipher_ids.get(cipher[0]) if cipher else None,
        }


class _Connection:
    """One client connection: a loop of request → app → response over h11, until close."""

    def __init__(self, server: AsgiServer, stream: anyio.abc.ByteStream) -> None:
        self.server = server
        self.stream = stream
        self.h11 = h11.Connection(h11.SERVER)

    async def serve(self) -> None:
        while True:
            try:
                request, body = await self._read_request()
            except h11.RemoteProtocolError as exc:
                logger.debug("bad request from %s: %s", _peer(self.stream), exc)
                await self._send_error(exc.error_status_hint, b"Bad Request")
                return
            if request is None:
                return
            if not await _Exchange(self, request, body).run():
                return
            if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                return
            self.h11.start_next_cycle()

    async def _next_event(self) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await self.stream.receive(RECEIVE_SIZE)
            except GONE:
                data = b""
            self.h11.receive_data(data)

    async def _read_request(self) -> tuple[h11.Request | None, bytes]:
        """The next request and its whole body; (None, b"") when the client closed."""
        event = await self._next_event()
        if not isinstance(event, h11.Request):
            return None, b""
        if self.h11.they_are_waiting_for_100_continue:
            await self.write(h11.InformationalResponse(status_code=100, headers=[]))
        chunks: list[bytes] = []
        while not isinstance(body_event := await self._next_event(), h11.EndOfMessage):
            if isinstance(body_event, h11.Data):
                chunks.append(bytes(body_event.data))
        return event, b"".join(chunks)

    async def write(self, event: h11.Event) -> None:
        """Send one h11 event; raises the GONE errors when the client has left."""
        data = self.h11.send(event)
        if data:
            await self.stream.send(data)

    async def _send_error(self, status: int, body: bytes) -> None:
        """A plain-text error response, if the state still allows one; then the conn closes."""
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            await self.write(h11.Response(status_code=status, headers=headers))
            await self.write(h11.Data(data=body))
            await self.write(h11.EndOfMessage())
        except (*GONE, h11.LocalProtocolError):
            pass


class _Exchange:
    """One request handed to the app: ASGI receive/send over the connection."""

    def __init__(self, connection: _Connection, request: h11.Request, body: bytes) -> None:
        self.connection = connection
        self.request = request
        self.body: bytes | None = body
        self.is_head = request.method == b"HEAD"
        self.finished = anyio.Event()  # client gone, or response complete
        self.client_gone = False
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.response_started = False  # the status line went out
        self.response_complete = False

    async def run(self) -> bool:
        """Run the app for this request; True when the connection can carry another one."""
        dropped = failed = False
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._watch_disconnect)
            try:
                await self.connection.server.app(
                    self.connection.server._scope(self.connection.stream, self.request),
                    self.receive,
                    self.send,
                )
            except Exception as exc:
                if _ends_quietly(exc):
                    dropped = True
                else:
                    failed = True
                    logger.exception(
                        "emulator app failed on %s %s",
                        self.request.method.decode(),
                        self.request.target.decode(),
                    )
            finally:
                task_group.cancel_scope.cancel()
        if dropped or self.client_gone:
            return False
        if not self.response_complete:
            if not failed and self.status is None:
                logger.error("emulator app returned without a response")
            await self.connection._send_error(500, b"Internal Server Error")
            return False
        return True

    async def _watch_disconnect(self) -> None:
        """Notice a client that goes away while the app works; buffer early next-request data."""
        try:
            data = await self.connection.stream.receive(RECEIVE_SIZE)
        except GONE:
            self._gone()
        else:
            self.connection.h11.receive_data(data)

    def _gone(self) -> None:
        self.client_gone = True
        self.finished.set()

    async def receive(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.finished.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("http.response.start sent twice")
            self.status = int(message["status"])
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
        elif kind == "http.response.body":
            if self.status is None:
                raise RuntimeError("http.response.body sent before http.response.start")
            if self.response_complete:
                raise RuntimeError("http.response.body sent after the response completed")
            await self._send_body(bytes(message.get("body", b"")), bool(message.get("more_body")))
        else:
            raise RuntimeError(f"unexpected ASGI message type {kind!r}")

    async def _send_body(self, body: bytes, more_body: bool) -> None:
        if self.client_gone:
            raise ClientDisconnected("the client closed the connection before the answer")
        try:
            if not self.response_started:
                assert self.status is not None
                headers = self.headers
                if not more_body and self.status not in (204, 304) and not _framed(headers):
                    headers = [*headers, (b"content-length", str(len(body)).encode())]
                self.response_started = True
                await self.connection.write(h11.Response(status_code=self.status, headers=headers))
            if body and not self.is_head:
                await self.connection.write(h11.Data(data=body))
            if not more_body:
                await self.connection.write(h11.EndOfMessage())
                self.response_complete = True
                self.finished.set()
        except GONE as exc:
            self._gone()
            raise ClientDisconnected(f"the connection failed while answering: {exc!r}") from exc


def _framed(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers)


def _ends_quietly(exc: BaseException) -> bool:
    """An injected drop, or an answer to a client that left: close, log nothing."""
    quiet = (DropConnection, ClientDisconnected)
    if isinstance(exc, quiet):
        return True
    return isinstance(exc, BaseExceptionGroup) and exc.subgroup(quiet) is not None


def _extra(resource: anyio.TypedAttributeProvider, attribute: Any) -> Any:
    """An anyio typed attribute of `resource`, or None when it has none."""
    return resource.extra(attribute, None)  # noqa: S610 (anyio, not Django's QuerySet.extra)


def _address(stream: anyio.abc.ByteStream, attribute: Any) -> tuple[str, int] | None:
    address = _extra(stream, attribute)
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None


def _peer(stream: anyio.abc.ByteStream) -> str:
    address = _address(stream, anyio.abc.SocketAttribute.remote_address)
    return f"{address[0]}:{address[1]}" if address else "an unknown peer"
