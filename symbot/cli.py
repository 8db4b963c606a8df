"""The `symbot` command: demo, emulator, run, keygen, check.

Each subcommand is a small function over the public API; `symbot <command> --help` tells
what it does and how to call it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from symbot.errors import SymbotError

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _keygen(args: argparse.Namespace) -> int:
    from symbot.keygen import generate_key_pair, write_private_key

    path: Path = args.output
    if path.exists() and not args.force:  # fail before spending seconds on a 4096-bit key
        print(
            f"symbot keygen: {path} already exists; pass --force to overwrite it", file=sys.stderr
        )
        return 1
    print(f"generating a {args.bits}-bit RSA key pair...", file=sys.stderr)
    pair = generate_key_pair(args.bits)
    write_private_key(path, pair.private_pem, overwrite=args.force)
    public_path = path.with_suffix(path.suffix + ".pub") if path.suffix else Path(f"{path}.pub")
    public_path.write_bytes(pair.public_pem)
    print(f"private key: {path} (mode 0600, PKCS#8; keep it secret)", file=sys.stderr)
    print(f"public key:  {public_path}", file=sys.stderr)
    print(
        "Give this public key to your pod administrator to import into the bot account:\n",
        file=sys.stderr,
    )
    print(pair.public_pem.decode(), end="")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symbot",
        description="Symphony Messaging bots with bullet-proof authentication.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = sub.add_parser(
        "keygen",
        help="create an RSA key pair for a bot account",
        description="Create a 4096-bit RSA key pair: the private key (PKCS#8, file mode 0600) "
        "for the bot, the public key (printed and written beside it) for the pod administrator.",
    )
    keygen.add_argument(
        "-o", "--output", type=Path, default=Path("bot-private-key.pem"), help="private key path"
    )
    keygen.add_argument("--bits", type=int, default=4096, choices=[2048, 3072, 4096])
    keygen.add_argument("--force", action="store_true", help="overwrite an existing key file")
    keygen.set_defaults(handler=_keygen)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `symbot` console script."""
    args = _build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except SymbotError as exc:
        print(f"symbot {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
