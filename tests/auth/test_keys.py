"""Key and certificate loading: every format that should load does; every bad input gets a
KeyLoadError naming the file and the fix, and never showing key material."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from symbot.auth import (
    CertificateAuth,
    KeyPair,
    RsaJwtAuth,
    key_file_warnings,
    load_client_identity,
    load_private_key,
)
from symbot.emulator import Emulator
from symbot.errors import KeyLoadError

from .support import load_key, pem_of


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("pkcs1", [False, True], ids=["pkcs8", "pkcs1"])
def test_loads_pem_keys_from_a_path_a_string_and_bytes(
    tmp_path: Path, bot_keys: KeyPair, pkcs1: bool
) -> None:
    pem = pem_of(load_key(bot_keys), pkcs1=pkcs1)
    path = _write(tmp_path, "bot.pem", pem)
    for source in (path, str(path), pem, pem.decode()):
        assert load_private_key(source).key_size == 2048


def test_loads_an_encrypted_key_with_its_passphrase(tmp_path: Path, bot_keys: KeyPair) -> None:
    path = _write(tmp_path, "bot.pem", pem_of(load_key(bot_keys), passphrase=b"s3cret"))
    assert load_private_key(path, "s3cret").key_size == 2048
    assert load_private_key(path, b"s3cret").key_size == 2048


def _error(source: Path | str | bytes, passphrase: str | None = None) -> KeyLoadError:
    with pytest.raises(KeyLoadError) as caught:
        load_private_key(source, passphrase)
    return caught.value


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    error = _error(tmp_path / "nope.pem")
    assert str(tmp_path / "nope.pem") in str(error)
    assert "not found" in str(error)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_named(tmp_path: Path, bot_keys: KeyPair) -> None:
    path = _write(tmp_path, "locked.pem", bot_keys.private_key_pem)
    path.chmod(0)
    assert "cannot be read" in str(_error(path))


def test_non_pem_content_is_refused_with_a_conversion_hint(
    tmp_path: Path, bot_keys: KeyPair
) -> None:
    der = load_key(bot_keys).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    error = _error(_write(tmp_path, "bot.der", der))
    assert "not a PEM file" in str(error)
    assert "openssl" in str(error)


def test_a_public_key_is_not_a_private_key(tmp_path: Path, bot_keys: KeyPair) -> None:
    error = _error(_write(tmp_path, "bot.pub", bot_keys.public_key_pem))
    assert "no private key" in str(error)


def test_an_encrypted_key_without_passphrase_says_how_to_give_one(
    tmp_path: Path, bot_keys: KeyPair
) -> None:
    path = _write(tmp_path, "bot.pem", pem_of(load_key(bot_keys), passphrase=b"s3cret"))
    error = _error(path)
    assert str(path) in str(error)
    assert "passphrase" in str(error)
    assert "auth.passphrase_env" in str(error)


def test_a_wrong_passphrase_is_reported_as_such(tmp_path: Path, bot_keys: KeyPair) -> None:
    path = _write(tmp_path, "bot.pem", pem_of(load_key(bot_keys), passphrase=b"s3cret"))
    error = _error(path, "Xq9-not-it")
    assert "wrong passphrase" in str(error)
    assert "Xq9-not-it" not in str(error)


def test_a_malformed_pem_is_refused(tmp_path: Path) -> None:
    garbage = b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    error = _error(_write(tmp_path, "bad.pem", garbage))
    assert "malformed" in str(error)
    assert "bm90IGEga2V5" not in str(error)


def test_a_non_rsa_key_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    error = _error(_write(tmp_path, "ec.pem", pem))
    assert "not an RSA key" in str(error)


def test_a_short_rsa_key_is_refused_with_the_size(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point of the test)
    error = _error(_write(tmp_path, "short.pem", pem_of(key)))
    assert "1024-bit" in str(error)
    assert "4096" in str(error)


def test_pem_text_is_named_by_field_and_never_echoed(bot_keys: KeyPair) -> None:
    pem = pem_of(load_key(bot_keys), passphrase=b"s3cret")
    error = _error(pem)
    assert "PEM text given in auth.private_key" in str(error)
    body = pem.decode().splitlines()[2]
    assert body not in str(error)


def test_client_identity_loads_pem_encrypted_pem_and_p12(tmp_path: Path, emu: Emulator) -> None:
    issued = emu.issue_certificate("bot")
    cert, key = issued.write_pem(tmp_path)
    assert load_client_identity(cert, key).common_name == "bot"
    (tmp_path / "enc").mkdir()
    cert, key = issued.write_pem(tmp_path / "enc", passphrase="pw")
    assert load_client_identity(cert, key, "pw").common_name == "bot"
    p12 = issued.write_p12(tmp_path / "bot.p12", "pw")
    assert load_client_identity(p12, password="pw").common_name == "bot"
    combined = _write(tmp_path, "both.pem", issued.cert_pem + issued.key_pem)
    assert load_client_identity(combined).common_name == "bot"


def test_client_identity_errors_name_the_file(tmp_path: Path, emu: Emulator) -> None:
    issued = emu.issue_certificate("bot")
    p12 = issued.write_p12(tmp_path / "bot.p12", "pw")
    with pytest.raises(KeyLoadError, match=r"bot\.p12.*PKCS#12"):
        load_client_identity(p12, password="wrong")
    cert = _write(tmp_path, "only.crt", issued.cert_pem)
    with pytest.raises(KeyLoadError, match=r"only\.crt.*no private key.*auth\.key"):
        load_client_identity(cert)
    other = emu.issue_certificate("bot")
    key = _write(tmp_path, "other.key", other.key_pem)
    with pytest.raises(KeyLoadError, match="does not belong"):
        load_client_identity(cert, key)


# -- key files readable by others ------------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_may_read_gets_one_warning_naming_chmod_600(
    tmp_path: Path, bot_keys: KeyPair, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    path = _write(tmp_path, "bot key.pem", bot_keys.private_key_pem)
    path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="symbot.auth"):
        assert load_private_key(path).key_size == 2048  # used all the same
    [warning] = _warnings(caplog)
    assert f"chmod 600 '{path}'" in warning
    assert f"mode {mode:03o}" in warning
    assert key_file_warnings(RsaJwtAuth(username="bot", private_key=path)) == [warning]


def test_a_key_file_only_its_owner_may_read_gets_no_warning(
    tmp_path: Path, bot_keys: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "bot.pem", bot_keys.private_key_pem)
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="symbot.auth"):
        load_private_key(path)
        load_private_key(bot_keys.private_key_pem)  # PEM text has no file mode
    assert _warnings(caplog) == []
    assert key_file_warnings(RsaJwtAuth(username="bot", private_key=path)) == []


def test_a_certificate_key_file_others_may_read_gets_the_warning(
    tmp_path: Path, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    issued = emu.issue_certificate("bot")
    cert, key = issued.write_pem(tmp_path)
    key.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="symbot.auth"):
        load_client_identity(cert, key)
    [warning] = _warnings(caplog)
    assert f"chmod 600 {key}" in warning
    combined = _write(tmp_path, "both.pem", issued.cert_pem + issued.key_pem)
    combined.chmod(0o644)
    assert "chmod 600" in key_file_warnings(CertificateAuth(certificate=combined))[0]


def test_a_key_source_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    assert "not a regular file" in str(_error(fifo))  # and opening it did not hang
    big = _write(tmp_path, "big.pem", b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 2**20)
    assert "larger than" in str(_error(big))
