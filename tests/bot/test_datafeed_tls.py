"""The datafeed loop rides out TLS errors met while reading a response.

httpx on asyncio lets an `ssl.SSLError` raised while reading (a TLS alert after a TLS 1.3
handshake, a record that is not TLS) escape raw instead of as `httpx.TransportError`; on
trio it arrives as a `ReadError`. Either way it is network trouble: the loop backs off and
retries instead of ending `Bot.serve()`.

The agent here is a small real TLS server on loopback, in threads so that it serves both
anyio backends alike. It answers the datafeed calls over TLS, except that it first breaks
`BROKEN` times in one of three ways: plaintext bytes written under the TLS session of a
read, or of a feed listing (as a misconfigured proxy in between would send), or a TLS 1.3
handshake demanding a client certificate, which the client learns of from an alert on its
first read.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import anyio
import httpx
import pytest

from symbot.config import RetryPolicy
from symbot.datafeed import DatafeedLoop
from symbot.emulator._ca import CertificateAuthority

pytestmark = pytest.mark.anyio

BROKEN = 3
EVENT = {"id": "evt-1", "type": "MESSAGESENT"}
NOT_TLS = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
READ = "POST /agent/v5/datafeeds/feed-1/read"
LIST = "GET /agent/v5/datafeeds"
CLIENT_CERTIFICATE = "client certificate"


class FlakyTlsAgent(socketserver.ThreadingTCPServer):
    """Datafeed v5 over TLS that breaks `BROKEN` times at `breaks_at` (a request, or
    `CLIENT_CERTIFICATE`: the handshake), then works: the feed list is empty, a create
    answers "feed-1", a read answers one event."""

    daemon_threads = True

    def __init__(self, ca: CertificateAuthority, breaks_at: str) -> None:
        super().__init__(("127.0.0.1", 0), _Connection)
        issued = ca.issue_server()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.demanding = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.demanding.minimum_version = ssl.TLSVersion.TLSv1_3  # the refusal comes on read
        self.demanding.verify_mode = ssl.CERT_REQUIRED
        self.demanding.load_verify_locations(cadata=ca.cert_pem.decode())
        with tempfile.TemporaryDirectory() as directory:
            cert_path, key_path = issued.write_pem(directory)
            for context in (self.context, self.demanding):
                context.load_cert_chain(cert_path, key_path)
        self.breaks_at = breaks_at
        self.broken = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def breaks(self, at: str) -> bool:
        with self._lock:
            if self.broken < BROKEN and at == self.breaks_at:
                self.broken += 1
                return True
            return False


class _Connection(socketserver.BaseRequestHandler):
    server: FlakyTlsAgent
    request: socket.socket

    def handle(self) -> None:
        self.request.settimeout(10)
        raw = self.request
        context = self.server.context
        if self.server.breaks(CLIENT_CERTIFICATE):
            context = self.server.demanding
        try:
            # TLS runs on a duplicate of the socket, so plaintext can be written under it.
            with context.wrap_socket(raw.dup(), server_side=True) as tls:
                self._serve(raw, tls)
        except ssl.SSLError:  # we refused the client: drain until it hangs up, so the
            while raw.recv(65536):  # alert reaches it rather than a connection reset
                pass
        except OSError:  # the client went away
            return

    def _serve(self, raw: socket.socket, tls: ssl.SSLSocket) -> None:
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                chunk = tls.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            request_line, *headers = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            length = sum(
                int(value)
                for name, _, value in (header.partition(":") for header in headers)
                if name.strip().lower() == "content-length"
            )
            while len(buffered) < length:
                buffered += tls.recv(65536)
            buffered = buffered[length:]
            request = f"{method} {target.partition('?')[0]}"
            if self.server.breaks(request):
                raw.sendall(NOT_TLS)
                return
            status, body = _answer(request)
            payload = json.dumps(body).encode()
            tls.sendall(
                f"HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\n\r\n".encode()
                + payload
            )


def _answer(request: str) -> tuple[int, object]:
    if request == READ:
        return 200, {"events": [EVENT], "ackId": "ack-1"}
    if request == LIST:
        return 200, []
    return 201, {"id": "feed-1"}


@contextmanager
def flaky_agent(ca: CertificateAuthority, breaks_at: str) -> Iterator[FlakyTlsAgent]:
    server = FlakyTlsAgent(ca, breaks_at)
    thread = threading.Thread(target=server.serve_forever, name="flaky-tls-agent", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("breaks_at", "failed_reads"),
    [(READ, BROKEN), (LIST, 0), (CLIENT_CERTIFICATE, 0)],
    ids=["not-tls-on-read", "not-tls-on-opening-the-feed", "alert-certificate-required"],
)
async def test_tls_errors_while_reading_a_response_are_retried_not_fatal(
    caplog: pytest.LogCaptureFixture, breaks_at: str, failed_reads: int
) -> None:
    ca = CertificateAuthority.create("datafeed TLS test CA")
    batches: list[list[object]] = []
    relogins: list[None] = []

    async def handle(events: Sequence[object]) -> bool:
        batches.append(list(events))
        loop.stop()
        return True

    async def refresh_auth() -> None:
        relogins.append(None)

    trust = ssl.create_default_context(cadata=ca.cert_pem.decode())
    with flaky_agent(ca, breaks_at) as server:
        async with httpx.AsyncClient(base_url=server.url, verify=trust) as agent:
            loop = DatafeedLoop(
                agent,
                handle_batch=handle,
                refresh_auth=refresh_auth,
                tag="tls-test",
                retry=RetryPolicy(initial=0.001, maximum=0.01, max_attempts=None),
            )
            with caplog.at_level(logging.WARNING, "symbot.datafeed"), anyio.fail_after(10):
                await loop.run()  # returns once the handler stops it; raises nothing

    assert server.broken == BROKEN
    assert batches == [[EVENT]]
    assert loop.ack_id == "ack-1"
    assert loop.stats.failed_reads == failed_reads
    assert loop.stats.feeds_created == 1
    assert relogins == []
    retries = [record.getMessage() for record in caplog.records if "retrying" in record.msg]
    assert len(retries) == BROKEN, retries
    if breaks_at == CLIENT_CERTIFICATE:  # a refusal says so, and what to check
        assert all("CERTIFICATE_REQUIRED" in retry for retry in retries), retries
        assert all("client certificate" in retry for retry in retries), retries
    else:  # bytes that are not TLS: the line names the TLS error, on either backend
        assert all("WRONG_VERSION_NUMBER" in retry.upper() for retry in retries), retries
