"""The emulator's HTTP/1.1 server over real loopback sockets, plain and TLS (with client certs)."""

from __future__ import annotations

import datetime
import json
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest
from attrs import field, frozen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from symbot.emulator._asgi import DropConnection, Receive, Scope, Send
from symbot.emulator._server import AsgiServer, server_ssl_context

from .support import GUARD, tls_alert_of

pytestmark = pytest.mark.anyio


class TinyApp:
    """An ASGI app whose paths exercise the server: echo, wait, hang, drop, fail, stream."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.waiting = anyio.Event()
        self.release = anyio.Event()
        self.saw_disconnect = anyio.Event()
        self.cancelled = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        body = (await receive())["body"]
        path = scope["path"]
        if path == "/drop":
            raise DropConnection
        if path == "/boom":
            raise RuntimeError("boom in the app")
        if path == "/silent":
            return
        if path == "/wait":
            self.waiting.set()
            await self.release.wait()
        elif path == "/release":
            self.release.set()
        elif path == "/hang":
            self.waiting.set()
            try:
                await anyio.sleep_forever()
            finally:
                self.cancelled.set()
        elif path == "/until-disconnect":
            self.waiting.set()
            if (await receive())["type"] == "http.disconnect":
                self.saw_disconnect.set()
            return
        elif path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in (b"one ", b"two ", b"three"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        await _send_json(send, _describe(scope, body))


def _describe(scope: Scope, body: bytes) -> dict[str, Any]:
    return {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": {name.decode(): value.decode() for name, value in scope["headers"]},
        "body": body.decode(),
        "client_port": scope["client"][1],
    }


async def _send_json(send: Send, payload: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


@pytest.fixture
async def app() -> TinyApp:
    return TinyApp()


@pytest.fixture
async def server(app: TinyApp) -> AsyncIterator[AsgiServer]:
    async with AsgiServer(app) as served:
        yield served


@pytest.fixture
async def client(server: AsgiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        yield http


async def _read_until_closed(stream: anyio.abc.ByteStream) -> bytes:
    chunks: list[bytes] = []
    while True:
        try:
            chunks.append(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return b"".join(chunks)


# --- plain HTTP ---------------------------------------------------------------------------


async def test_get_reaches_the_app_with_an_asgi_http_scope(
    server: AsgiServer, client: httpx.AsyncClient, app: TinyApp
) -> None:
    response = await client.get("/a%20b/c", params={"x": "1"}, headers={"X-Thing": "yes"})

    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(response.content))
    seen = response.json()
    assert seen["path"] == "/a b/c"
    assert seen["raw_path"] == "/a%20b/c"
    assert seen["query"] == "x=1"
    assert seen["headers"]["x-thing"] == "yes"
    scope = app.scopes[0]
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}  # send raises when gone
    assert scope["http_version"] == "1.1"
    assert scope["scheme"] == "http"
    assert scope["root_path"] == ""
    assert scope["server"] == ("127.0.0.1", server.port)
    assert scope["client"][0] == "127.0.0.1"
    assert "tls" not in scope["extensions"]
    assert server.url == f"http://127.0.0.1:{server.port}"


async def test_post_json_body_reaches_the_app(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "café", "n": 1})

    seen = response.json()
    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"name": "café", "n": 1}


async def test_chunked_upload_reaches_the_app_whole(client: httpx.AsyncClient) -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"first,", b"second,", b"third"):
            yield part

    response = await client.post("/upload", content=parts())

    seen = response.json()
    assert seen["headers"]["transfer-encoding"] == "chunked"
    assert seen["body"] == "first,second,third"


async def test_keep_alive_serves_several_requests_on_one_connection(
    client: httpx.AsyncClient,
) -> None:
    ports = {(await client.get(f"/n/{n}")).json()["client_port"] for n in range(4)}

    assert len(ports) == 1


async def test_streamed_response_arrives_whole(client: httpx.AsyncClient) -> None:
    response = await client.get("/stream")

    assert response.text == "one two three"
    assert response.headers["transfer-encoding"] == "chunked"


async def test_connection_close_is_honoured(server: AsgiServer) -> None:
    with anyio.fail_after(GUARD):
        async with await anyio.connect_tcp("127.0.0.1", server.port) as stream:
            await stream.send(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            reply = await _read_until_closed(stream)

    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" in reply.lower()
    assert reply.endswith(b"}")


async def test_malformed_request_gets_400_and_the_connection_closes(server: AsgiServer) -> None:
    with anyio.fail_after(GUARD):
        async with await anyio.connect_tcp("127.0.0.1", server.port) as stream:
            await stream.send(b"THIS IS NOT HTTP\r\n\r\n")
            reply = await _read_until_closed(stream)

    assert reply.startswith(b"HTTP/1.1 400 ")


async def test_slow_requests_do_not_block_each_other(
    client: httpx.AsyncClient, app: TinyApp
) -> None:
    statuses: list[int] = []

    async def request(path: str) -> None:
        statuses.append((await client.get(path)).status_code)

    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(request, "/wait")
            await app.waiting.wait()
            task_group.start_soon(request, "/release")

    assert statuses == [200, 200]


async def test_drop_connection_closes_the_socket_without_a_response(
    client: httpx.AsyncClient,
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/drop")

    assert (await client.get("/after")).status_code == 200


async def test_app_exception_becomes_500_logged_and_the_server_keeps_serving(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="symbot.emulator"):
        response = await client.get("/boom")

    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert "boom in the app" in str(record.exc_info[1])
    assert (await client.get("/after")).status_code == 200


async def test_app_that_returns_without_responding_gets_500(client: httpx.AsyncClient) -> None:
    assert (await client.get("/silent")).status_code == 500


async def test_client_going_away_reaches_the_app_as_http_disconnect(
    server: AsgiServer, app: TinyApp
) -> None:
    with anyio.fail_after(GUARD):
        async with await anyio.connect_tcp("127.0.0.1", server.port) as stream:
            await stream.send(b"GET /until-disconnect HTTP/1.1\r\nHost: t\r\n\r\n")
            await app.waiting.wait()
        await app.saw_disconnect.wait()
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/after")).status_code == 200


async def test_exit_cancels_in_flight_requests_promptly(app: TinyApp) -> None:
    with anyio.fail_after(GUARD):
        async with AsgiServer(app) as server:
            stream = await anyio.connect_tcp("127.0.0.1", server.port)
            await stream.send(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
            await app.waiting.wait()
        async with stream:
            assert await _read_until_closed(stream) == b""

    assert app.cancelled.is_set()


async def test_port_zero_binds_an_ephemeral_port_that_is_exposed(app: TinyApp) -> None:
    async with AsgiServer(app, port=0) as first, AsgiServer(app, port=0) as second:
        assert first.port > 0
        assert second.port > 0
        assert first.port != second.port


# --- TLS ----------------------------------------------------------------------------------


@frozen
class Pki:
    """A CA, a server certificate for 127.0.0.1, and client certificates from two CAs."""

    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes = field(repr=False)
    client_cert: Path
    client_key: Path
    foreign_cert: Path
    foreign_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    *,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    """A CA certificate (self-signed, when `issuer` is None) or a leaf signed by `issuer`."""
    now = datetime.datetime.now(datetime.UTC)
    is_ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(subject) if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _client_files(
    directory: Path, common_name: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(common_name, key, ca, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    cert_path, key_path = directory / f"{common_name}.crt", directory / f"{common_name}.key"
    cert_path.write_bytes(_pem(certificate))
    key_path.write_bytes(_key_pem(key))
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test Emulator CA", ca_key)
    foreign_ca_key = ec.generate_private_key(ec.SECP256R1())
    foreign_ca = _certificate("Somebody Else's CA", foreign_ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate(
        "127.0.0.1", server_key, ca, ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_cert, client_key = _client_files(directory, "alice", ca, ca_key)
    foreign_cert, foreign_key = _client_files(directory, "mallory", foreign_ca, foreign_ca_key)
    return Pki(
        ca_pem=_pem(ca),
        server_cert_pem=_pem(server_cert),
        server_key_pem=_key_pem(server_key),
        client_cert=client_cert,
        client_key=client_key,
        foreign_cert=foreign_cert,
        foreign_key=foreign_key,
    )


def _client_context(pki: Pki, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=pki.ca_pem.decode())
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


@pytest.fixture
async def tls_server(pki: Pki, app: TinyApp) -> AsyncIterator[AsgiServer]:
    context = server_ssl_context(pki.server_cert_pem, pki.server_key_pem, client_ca_pem=pki.ca_pem)
    async with AsgiServer(app, ssl_context=context) as served:
        yield served


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    with caplog.at_level(logging.DEBUG, logger="symbot.emulator"):
        yield
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_tls_without_client_certificate_gives_an_empty_chain(
    pki: Pki, tls_server: AsgiServer, app: TinyApp
) -> None:
    async with httpx.AsyncClient(verify=_client_context(pki)) as http:
        response = await http.get(f"{tls_server.url}/hello")

    assert response.status_code == 200
    assert tls_server.url == f"https://127.0.0.1:{tls_server.port}"
    scope = app.scopes[0]
    assert scope["scheme"] == "https"
    tls = scope["extensions"]["tls"]
    assert tls["client_cert_chain"] == []
    assert tls["client_cert_name"] is None
    assert tls["client_cert_error"] is None
    assert tls["tls_version"] in (0x0303, 0x0304)
    assert isinstance(tls["cipher_suite"], int)


async def test_tls_client_certificate_reaches_the_app_as_pem(
    pki: Pki, tls_server: AsgiServer, app: TinyApp
) -> None:
    context = _client_context(pki, pki.client_cert, pki.client_key)
    async with httpx.AsyncClient(verify=context) as http:
        response = await http.get(f"{tls_server.url}/login")

    assert response.status_code == 200
    tls = app.scopes[0]["extensions"]["tls"]
    [pem] = tls["client_cert_chain"]
    certificate = x509.load_pem_x509_certificate(pem.encode())
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert pem.encode() == pki.client_cert.read_bytes()
    assert tls["client_cert_name"] == "CN=alice"


@pytest.mark.usefixtures("no_errors_logged")
async def test_tls_client_certificate_from_a_foreign_ca_is_refused(
    pki: Pki, tls_server: AsgiServer, app: TinyApp
) -> None:
    context = _client_context(pki, pki.foreign_cert, pki.foreign_key)
    with anyio.fail_after(GUARD):
        async with httpx.AsyncClient(verify=context) as http:
            with pytest.raises((httpx.TransportError, ssl.SSLError)) as caught:
                await http.get(f"{tls_server.url}/login")
            assert tls_alert_of(caught.value) == "TLSV1_ALERT_UNKNOWN_CA"
        async with httpx.AsyncClient(verify=_client_context(pki)) as http:
            assert (await http.get(f"{tls_server.url}/after")).status_code == 200

    assert [scope["path"] for scope in app.scopes] == ["/after"]


@pytest.mark.usefixtures("no_errors_logged")
async def test_plain_http_to_the_tls_port_fails_and_the_server_keeps_serving(
    pki: Pki, tls_server: AsgiServer
) -> None:
    with anyio.fail_after(GUARD):
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.TransportError):
                await http.get(f"http://127.0.0.1:{tls_server.port}/plain")
        async with httpx.AsyncClient(verify=_client_context(pki)) as http:
            assert (await http.get(f"{tls_server.url}/after")).status_code == 200


async def test_a_stalled_tls_handshake_does_not_block_other_clients(
    pki: Pki, tls_server: AsgiServer
) -> None:
    with anyio.fail_after(GUARD):
        async with (
            await anyio.connect_tcp("127.0.0.1", tls_server.port),
            httpx.AsyncClient(verify=_client_context(pki)) as http,
        ):
            assert (await http.get(f"{tls_server.url}/after")).status_code == 200


async def test_tls_keep_alive_and_exit_with_an_in_flight_request(pki: Pki, app: TinyApp) -> None:
    context = server_ssl_context(pki.server_cert_pem, pki.server_key_pem, client_ca_pem=pki.ca_pem)
    errors: list[Exception] = []

    async def hang(http: httpx.AsyncClient, url: str) -> None:
        try:
            await http.get(f"{url}/hang")
        except httpx.TransportError as exc:
            errors.append(exc)

    with anyio.fail_after(GUARD):
        async with (
            httpx.AsyncClient(verify=_client_context(pki)) as http,
            anyio.create_task_group() as task_group,
            AsgiServer(app, ssl_context=context) as server,
        ):
            ports = {(await http.get(f"{server.url}/n/{n}")).json()["client_port"] for n in "ab"}
            task_group.start_soon(hang, http, server.url)
            await app.waiting.wait()

    assert len(ports) == 1
    assert app.cancelled.is_set()
    assert len(errors) == 1


async def test_server_without_client_ca_does_not_ask_for_a_certificate(
    pki: Pki, app: TinyApp
) -> None:
    context = server_ssl_context(pki.server_cert_pem, pki.server_key_pem)
    async with AsgiServer(app, ssl_context=context) as server:
        client_context = _client_context(pki, pki.foreign_cert, pki.foreign_key)
        async with httpx.AsyncClient(verify=client_context) as http:
            assert (await http.get(f"{server.url}/x")).status_code == 200

    assert app.scopes[0]["extensions"]["tls"]["client_cert_chain"] == []
