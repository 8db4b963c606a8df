"""`symbot run TARGET`: find the bot class a TARGET names, and say plainly why not.

TARGET is `module:Class` (the current directory is importable, as with `python -m`) or
`path/to/file.py:Class` (the file's directory is importable, as when Python runs a script).
A TARGET that names nothing usable raises `TargetError`, which names the TARGET and the fix.
An exception raised while the bot's own module is imported is the author's to fix, so it is
shown in a few lines (their file, line and code, then the exception) rather than as a long
traceback through symbot and importlib.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import sysconfig
import traceback
from pathlib import Path
from types import ModuleType

import symbot
from symbot.errors import SymbotError

__all__ = ["TargetError", "load_bot_class"]

_MAX_FRAMES = 3
"""How many of the bot's own frames an import error shows (the innermost ones)."""


class TargetError(SymbotError):
    """The TARGET of `symbot run` names no Bot subclass that can be imported."""

    def __init__(self, target: str, problem: str, fix: str) -> None:
        self.target = target
        self.problem = problem
        self.fix = fix
        super().__init__(f"cannot load the bot {target!r}: {problem}\nFix: {fix}")


def load_bot_class(target: str) -> type:
    """`module:Class` or `path/to/file.py:Class` → the Bot subclass; TargetError when the
    target is malformed, cannot be imported, or names no Bot subclass."""
    from symbot.bot import Bot

    module_name, _, class_name = target.rpartition(":")
    if not module_name or not class_name:
        raise TargetError(target, "it is not module:Class", "write e.g. my_bot:MyBot")
    module = _import(target, module_name)
    found = getattr(module, class_name, None)
    if not (inspect.isclass(found) and issubclass(found, Bot)):
        bots = [
            name
            for name, value in vars(module).items()
            if inspect.isclass(value) and issubclass(value, Bot) and value is not Bot
        ]
        fix = f"it defines {', '.join(bots)}" if bots else "define a Bot subclass in it"
        raise TargetError(target, f"{class_name!r} in {module_name} is not a Bot subclass", fix)
    return found


def _import(target: str, name: str) -> ModuleType:
    if name.endswith(".py"):
        return _import_file(target, Path(name))
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise TargetError(
                target,
                f"no module named {name!r} in {os.getcwd()} or the installed packages",
                "run symbot from the directory that holds it, or give a path: my_bot.py:MyBot",
            ) from None
        raise _failed_import(target, name, exc) from None
    except Exception as exc:
        raise _failed_import(target, name, exc) from None


def _import_file(target: str, path: Path) -> ModuleType:
    if not path.is_file():
        raise TargetError(target, f"{path} does not exist", "check the bot file's path")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise TargetError(target, f"{path} cannot be imported", "pass a Python file")
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # its sibling modules import, as when run as a script
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[path.stem]
        raise _failed_import(target, str(path), exc) from None
    return module


def _failed_import(target: str, name: str, exc: Exception) -> TargetError:
    """The exception the bot's module raised, in a few lines: where in the author's code,
    and what (a SyntaxError says its own file, line and caret)."""
    shown = "".join(traceback.format_exception_only(exc)).rstrip()
    if not isinstance(exc, SyntaxError):
        frames = _own_frames(traceback.extract_tb(exc.__traceback__))
        where = "".join(traceback.format_list(frames[-_MAX_FRAMES:])).rstrip()
        shown = f"{where}\n{shown}" if where else shown
    fix = "correct the bot's code at the line above (the error is not in symbot)"
    if isinstance(exc, ModuleNotFoundError):
        fix = f"install the package the bot imports ({exc.name}), or correct the import"
    return TargetError(target, f"importing {name} raised {type(exc).__name__}:\n{shown}", fix)


def _own_frames(frames: traceback.StackSummary) -> list[traceback.FrameSummary]:
    """The frames in the bot author's files: not symbot's, not the standard library's or an
    installed package's, not importlib's frozen ones. All but symbot's and importlib's when
    the bot itself is an installed package."""
    library = {
        str(Path(path).resolve())
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    }
    ours = str(Path(symbot.__file__).resolve().parent)
    outside = [
        frame
        for frame in frames
        if not frame.filename.startswith("<") and not _within(frame.filename, ours)
    ]
    own = [frame for frame in outside if not any(_within(frame.filename, p) for p in library)]
    return own or outside


def _within(filename: str, directory: str) -> bool:
    return str(Path(filename).resolve()).startswith(directory + os.sep)
