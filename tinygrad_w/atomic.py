"""Writing files atomically: a reader (or a crash) sees the old file or the new one, never half of one.

The content goes to a temporary file in the target's own directory, which is flushed to disk and then
renamed over the target with ``os.replace`` (atomic on POSIX and Windows when both are on one file system).

What a path may be (:func:`writable_path`): a non-empty name without NUL characters in a directory that
exists (it is never created); not a directory, a FIFO or a device. A symbolic link is followed, dangling or
not: the file it points to is written and the link stays a link. Problems raise
:class:`~tinygrad_w.errors.FileAccessError` (an ``OSError``) naming the caller, the path and the reason.

A writer killed mid-write (``kill -9``) leaves its temporary file ``.NAME.XXXXXXXX.tmp`` behind. Each
writer holds a lock on its temporary file (``fcntl.flock``, released by the system when a process dies),
so the next write to the same path removes the unlocked ones: stale files go, a concurrent writer's file
stays. (Without ``fcntl``, on Windows, stale files are left alone.)
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from tinygrad_w.errors import ArgumentError, FileAccessError, OperandTypeError, show

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "path_text",
    "remove_stale_temporaries",
    "writable_path",
    "write_atomically",
    "write_bytes_atomically",
]

_TEMPORARY_NAME_PART = 100  # characters of the target's name kept in a temporary file's name
_RANDOM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")  # what tempfile puts in a name


def path_text(path: object, where: str) -> str:
    """``path`` (a str or an ``os.PathLike``) as text, refused when empty or holding a NUL character."""
    if not isinstance(path, (str, os.PathLike)):
        raise OperandTypeError(
            f"{where}: path must be a str or an os.PathLike, got {type(path).__name__} {show(path)}"
        )
    text = os.fspath(path)
    if not isinstance(text, str):
        raise OperandTypeError(f"{where}: path must name a file as text, got {show(text)}")
    if not text:
        raise ArgumentError(f"{where}: the path is empty")
    if "\0" in text:
        raise ArgumentError(f"{where}: the path {show(text)} contains a NUL character")
    return text


def writable_path(path: object, where: str) -> str:
    """The file to write for ``path``, checked (see the module's docstring); a symbolic link resolved to
    the file it points to. Nothing is created."""
    name = path_text(path, where)
    fail = f"{where} {show(name)}"
    target = os.path.realpath(name) if os.path.islink(name) else name  # write through the link
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None  # a new file
    except OSError as exc:  # a name too long, a path through a file, a loop of links, no permission
        raise FileAccessError(f"{fail}: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise FileAccessError(f"{fail}: is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        raise FileAccessError(f"{fail}: not a regular file (a FIFO or a device)")
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FileAccessError(f"{fail}: the directory {show(directory)} does not exist")
    if not os.access(directory, os.W_OK):
        raise FileAccessError(f"{fail}: cannot write in {show(directory)}: permission denied")
    return target


def write_atomically(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], *, where: str = "write_atomically"
) -> None:
    """Call ``write(file)`` to fill a temporary file (opened for binary writing), then rename it over ``path``.

    ``where`` names the caller in error messages. The directory must exist. A new file gets mode 0o644
    (mkstemp would leave it private, 0o600); a replaced file keeps its mode. On any error the temporary
    file is removed and ``path`` is untouched; an ``OSError`` becomes a FileAccessError naming the path.
    """
    if not callable(write):
        raise OperandTypeError(f"{where}: write must be a function of a file, got {show(write)}")
    target = writable_path(path, where)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o644
    remove_stale_temporaries(target)
    try:
        _write_and_rename(target, directory, mode, write)
    except OSError as exc:
        raise FileAccessError(f"{where} {show(os.fspath(path))}: {exc.strerror or exc}") from exc
    # Make the rename itself durable (POSIX; some systems cannot open a directory, which is fine).
    with contextlib.suppress(OSError):
        directory_handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_handle)
        finally:
            os.close(directory_handle)


def _write_and_rename(target: str, directory: str, mode: int, write: Callable[[BinaryIO], object]) -> None:
    """Fill a locked temporary file and rename it over ``target`` while the lock is held (a cleaner never
    removes a file that is being written)."""
    handle, temporary = _locked_temporary(target, directory)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them visible
            os.chmod(temporary, mode)
            os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _temporary_prefix(target: str) -> str:
    return f".{os.path.basename(target)[:_TEMPORARY_NAME_PART]}."


def _locked_temporary(target: str, directory: str) -> tuple[int, str]:
    """A new temporary file beside ``target``, locked. A cleaner may remove a file between its creation
    and the lock: then it is gone from its name, and another one is made."""
    while True:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(target), suffix=".tmp")
        if fcntl is None:
            return handle, temporary
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.path.samestat(os.fstat(handle), os.lstat(temporary)):
                return handle, temporary
        except FileNotFoundError:
            pass
        os.close(handle)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files that killed writers left beside ``path`` (unlocked ones only) and
    return their names. Without ``fcntl`` nothing can tell a stale file from a live one: none is removed."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    prefix = _temporary_prefix(target)
    if fcntl is None:
        return []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in names:
        random_part = name[len(prefix) : -len(".tmp")]
        if (
            name.startswith(prefix)
            and name.endswith(".tmp")
            and len(random_part) == 8
            and set(random_part) <= _RANDOM
        ):
            with contextlib.suppress(OSError):
                if _remove_if_unlocked(os.path.join(directory, name)):
                    removed.append(name)
    return removed


def _remove_if_unlocked(candidate: str) -> bool:
    """Remove ``candidate`` if no writer holds its lock (the writer died); the lock is taken first, so a
    writer cannot start on it meanwhile."""
    handle = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer
        if not os.path.samestat(os.fstat(handle), os.lstat(candidate)):
            return False
        os.remove(candidate)
        return True
    finally:
        os.close(handle)


def write_bytes_atomically(
    path: str | os.PathLike[str], data: bytes, *, where: str = "write_bytes_atomically"
) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`write_atomically`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise OperandTypeError(f"{where}: data must be bytes, got {type(data).__name__} {show(data)}")
    write_atomically(path, lambda file: file.write(data), where=where)
