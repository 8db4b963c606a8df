"""The `symbot` command line, run through its entry point."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.cli import main


def test_keygen_writes_private_pkcs8_key_0600_and_prints_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "bot.pem"
    assert main(["keygen", "-o", str(key_path), "--bits", "2048"]) == 0

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    pem = key_path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048

    printed = capsys.readouterr().out
    public = serialization.load_pem_public_key(printed.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()
    assert (tmp_path / "bot.pem.pub").read_text() == printed


def test_keygen_refuses_to_overwrite_an_existing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "bot.pem"
    key_path.write_text("precious")
    assert main(["keygen", "-o", str(key_path)]) == 1
    assert key_path.read_text() == "precious"
    assert "--force" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    commands = ["keygen"]
    assert all(name in capsys.readouterr().out for name in commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
