"""The emulator's certificate authority: its own TLS server certificate and bots' client certs.

Certificate login is only as real as the checks behind it, so the emulator runs a small CA:
the HTTPS listener presents a certificate it issued (valid for 127.0.0.1 and localhost), and
`verify_client` checks a presented client certificate's issuer, signature, validity window and
key usage with `cryptography` itself rather than trusting whatever the TLS layer accepted.
Keys are ECDSA P-256: generating them is instant, and every TLS stack accepts them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path

from attrs import field, frozen
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from symbot.emulator._keys import write_private

__all__ = ["CertificateAuthority", "CertificateRejected", "IssuedCertificate"]

_SKEW = dt.timedelta(minutes=5)
_LEAF_LIFETIME = dt.timedelta(days=365)
_CA_LIFETIME = dt.timedelta(days=3650)


class CertificateRejected(Exception):
    """A client certificate that does not identify a user; the message says why."""


@frozen
class IssuedCertificate:
    """A certificate and its private key, both PEM, with helpers to write them as files."""

    common_name: str
    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    def write_pem(
        self, directory: Path | str, passphrase: str | bytes | None = None
    ) -> tuple[Path, Path]:
        """Write `<cn>.crt` and `<cn>.key` into `directory` (created if missing; the key mode
        0600, encrypted as PKCS#8 when `passphrase` is given) and return their paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]", "_", self.common_name) or "client"
        cert_path = directory / f"{stem}.crt"
        cert_path.write_bytes(self.cert_pem)
        key_pem = self.key_pem
        if passphrase is not None:
            key = serialization.load_pem_private_key(self.key_pem, password=None)
            key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(_as_bytes(passphrase)),
            )
        key_path = write_private(directory / f"{stem}.key", key_pem)
        return cert_path, key_path

    def write_p12(self, path: Path | str, password: str | bytes) -> Path:
        """Write certificate and key as a password-protected PKCS#12 file (mode 0600)."""
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("only ECDSA keys issued by the emulator CA can be written as PKCS#12")
        data = pkcs12.serialize_key_and_certificates(
            name=self.common_name.encode(),
            key=key,
            cert=x509.load_pem_x509_certificate(self.cert_pem),
            cas=None,
            encryption_algorithm=serialization.BestAvailableEncryption(_as_bytes(password)),
        )
        return write_private(Path(path), data)


@frozen
class CertificateAuthority:
    """A self-signed CA that issues server and client certificates and verifies client ones."""

    name: str
    certificate: x509.Certificate = field(repr=False)
    _key: ec.EllipticCurvePrivateKey = field(repr=False, alias="key")

    @classmethod
    def create(cls, name: str = "symbot emulator CA") -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(now + _CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(name=name, certificate=cert, key=key)

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue_client(self, common_name: str) -> IssuedCertificate:
        """A client-authentication certificate whose subject CN is `common_name`."""
        return self._issue(common_name, ExtendedKeyUsageOID.CLIENT_AUTH, sans=())

    def issue_server(self, hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> IssuedCertificate:
        """A TLS server certificate valid for `hosts` (IP addresses and DNS names)."""
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        return self._issue(hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, sans=sans)

    def verify_client(self, cert_pem: str | bytes) -> str:
        """The CN of a client certificate this CA issued and that is valid now.

        Raises CertificateRejected (with the reason) for anything else: unparseable,
        another issuer, a bad signature, outside its validity window, not for client
        authentication, or without a CN.
        """
        try:
            cert = x509.load_pem_x509_certificate(_as_bytes(cert_pem))
        except ValueError:
            raise CertificateRejected("the client certificate is not a PEM certificate") from None
        if cert.issuer != self.certificate.subject:
            raise CertificateRejected("the client certificate was not issued by the emulator CA")
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            raise CertificateRejected(
                "the client certificate's signature does not verify against the emulator CA"
            ) from None
        now = _now()
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise CertificateRejected("the client certificate is expired or not yet valid")
        try:
            usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        if usage is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in usage:
            raise CertificateRejected("the certificate is not meant for client authentication")
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not names:
            raise CertificateRejected("the client certificate has no common name (CN)")
        value = names[0].value
        return value if isinstance(value, str) else value.decode()

    def _issue(
        self,
        common_name: str,
        usage: x509.ObjectIdentifier,
        sans: Sequence[x509.GeneralName],
    ) -> IssuedCertificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(now + _LEAF_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCertificate(
            common_name=common_name,
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value
