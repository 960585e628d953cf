"""Atomic exchange of two directories: Linux ``renameat2(RENAME_EXCHANGE)`` through ctypes.

The only raw system call in recsys, kept here behind a check. :func:`exchange` swaps two
paths in one step where the kernel, the C library and the filesystem allow it, and answers
False everywhere else; :func:`replace` is the portable fallback (two renames), which ends in
the same state (the caller tests both give identical results).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100
_UNSUPPORTED = (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP)


def _renameat2():
    """The C library's ``renameat2``, or None where there is none (not Linux, glibc < 2.28,
    musl builds without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


RENAMEAT2 = _renameat2()


def aside(target: Path, kind: str) -> Path:
    """A fresh hidden path beside ``target`` for a save in progress (``kind="tmp"``) or a
    model being replaced (``"old"``); it names this process, so that :func:`sweep` can tell
    a live save's directory from a killed one's."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def sweep(target: Path) -> list[Path]:
    """Remove what killed saves of ``target`` left beside it; returns what was removed.

    A leftover is removed only when the process that made it is gone: a save running
    meanwhile (in another process or thread) keeps its directory.
    """
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:tmp|old)-(\d+)-[0-9a-f]{{12}}")
    removed = []
    for path in target.parent.iterdir():
        match = pattern.fullmatch(path.name)
        if match and not _alive(int(match.group(1))) and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid at all: leave it alone
    return True


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False where that is unsupported."""
    if RENAMEAT2 is None:
        return False
    if RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                 _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(second))


def replace(staging: Path, target: Path) -> None:
    """Put the directory ``staging`` in place of the existing ``target`` by two renames.

    The target is moved aside first and removed only once the new one is in place: a crash
    between the two renames leaves the previous model beside the target, as
    ``.<name>.old-*`` (swept by the next save).
    """
    retired = aside(target, "old")
    os.rename(target, retired)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def swap(staging: Path, target: Path, *, atomic: bool = True) -> None:
    """Put ``staging`` in place of the existing directory ``target``, atomically where the
    system allows it (``atomic=False`` forces the fallback), and remove the old one."""
    if atomic and exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous model
    else:
        replace(staging, target)
