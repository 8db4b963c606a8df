"""Key pairs for bot accounts: what `symbot keygen` writes and the emulator-backed demo uses.

Files are created, never opened as they are: without `overwrite` a file that exists (a
symbolic link included, dangling or not) is an error, and with it the new content goes to a
fresh temporary file beside the target that then replaces it by a rename, so a link at the
path is replaced, never followed, and a reader never sees half a key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from attrs import field, frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from symbot.errors import KeyLoadError

__all__ = ["KeyPair", "generate_key_pair", "key_pair_paths", "write_private_key"]

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


@frozen
class KeyPair:
    """An RSA key pair in PEM: the private key PKCS#8 (unencrypted), the public key
    SubjectPublicKeyInfo."""

    private_key_pem: bytes = field(repr=False)
    public_key_pem: bytes

    def write(self, path: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write the private key to `path` (mode 0600) and the public key beside it (mode
        0644; see `key_pair_paths`). Without `overwrite`, neither may exist; nothing is left
        behind when either cannot be written. Returns both paths."""
        path, public_path = key_pair_paths(path, overwrite=overwrite)
        write_private_key(path, self.private_key_pem, overwrite=overwrite)
        try:
            _write(public_path, self.public_key_pem, 0o644, overwrite=overwrite)
        except KeyLoadError:
            if not overwrite:
                path.unlink(missing_ok=True)
            raise
        return path, public_path


def generate_key_pair(bits: int = 4096) -> KeyPair:
    """A fresh RSA key pair. 4096 bits is what Symphony recommends for bot accounts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_key_pem=private_pem, public_key_pem=public_pem)


def key_pair_paths(private_key_path: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """The paths of a key pair: the private key's, and the public key's (the same name with
    `.pub` added). Without `overwrite`, a `KeyLoadError` if either exists (a symbolic link
    counts, even a dangling one): check before spending seconds on generating a key."""
    paths = (private_key_path, Path(f"{private_key_path}.pub"))
    for path in paths:
        if not overwrite and os.path.lexists(path):
            raise _exists(path)
    return paths


def write_private_key(path: Path, private_pem: bytes, *, overwrite: bool = False) -> Path:
    """Write secret material readable by its owner only (mode 0600 from the first byte).
    Without `overwrite` the file must not exist; with it, the file is replaced by a rename
    (a symbolic link at `path` is replaced, never written through). Returns `path`."""
    return _write(path, private_pem, 0o600, overwrite=overwrite)


def _exists(path: Path) -> KeyLoadError:
    return KeyLoadError(
        str(path), "already exists", "choose another path or pass --force to overwrite it"
    )


def _write(path: Path, data: bytes, mode: int, *, overwrite: bool) -> Path:
    """Create `path` holding `data` with `mode` (whatever the umask); see the module
    docstring. A file this created is removed again if writing fails."""
    created: Path | None = None
    problem = ""
    try:
        if overwrite:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        else:
            fd, name = os.open(path, _CREATE, mode), str(path)
        created = Path(name)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
        if overwrite:
            os.replace(created, path)
    except FileExistsError:
        problem = "exists"
    except OSError as exc:
        problem = f"cannot be written ({exc.strerror or type(exc).__name__})"
        if created is not None:
            created.unlink(missing_ok=True)
    if problem == "exists":
        raise _exists(path)
    if problem:
        raise KeyLoadError(str(path), problem, "check the directory and its permissions")
    return path
