"""Open input files without ever leaving the input folder.

The declared-path check in ``meeting_descriptor.resolve_artifact_path`` is textual; the file
system decides what a path really names. On a local file system a path below ``INPUT`` is
therefore opened one component at a time, each relative to the directory opened before it
(``openat``), every one with ``O_NOFOLLOW``: a symbolic link anywhere below the input folder
(a meeting folder, a sub-folder, the file itself) is refused, never followed, whether it points
inside or outside ``INPUT``. That is the simplest rule that is safe, and it is safe against a
link swapped in between listing and opening (no check-then-open race). The input folder
itself (``--input``) is the operator's choice and may be reached through links.

Only regular files are read: a FIFO, socket or device is refused without blocking
(``O_NONBLOCK`` on open, then ``fstat``). Hard links are out of scope: a hard link is the
file itself, not a reference to a path, and on Linux (``fs.protected_hardlinks``) it can only
be made to a file its maker may already read and write.

Object stores (``gs://``) have no links; there files are opened with ``FileSystems.open``.
"""
from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.parsers.base import ArtifactRejected
from transforms.records import DeadLetterReason

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def is_local(uri: str) -> bool:
    return FileSystems.get_scheme(uri) is None


def symlink_rejected() -> ArtifactRejected:
    return ArtifactRejected(DeadLetterReason.SYMLINK, "SymlinkRefused")


def _components(root: str, uri: str):
    prefix = root if root.endswith("/") else root + "/"
    if not uri.startswith(prefix):
        raise ArtifactRejected(DeadLetterReason.PATH_ESCAPE, "PathEscape")
    parts = [p for p in uri[len(prefix):].split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ArtifactRejected(DeadLetterReason.PATH_ESCAPE, "PathEscape")
    return parts


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def open_input(root: str, uri: str) -> BinaryIO:
    """Open ``uri`` (a file below the input folder ``root``) for reading, binary.

    Raises ``ArtifactRejected`` (``symlink``, ``special_file``, ``path_escape``) for what may
    not be read, ``OSError`` for what cannot be.
    """
    if not is_local(uri):
        return FileSystems.open(uri, compression_type=CompressionTypes.UNCOMPRESSED)
    parts = _components(root, uri)
    if os.open not in os.supports_dir_fd or not hasattr(os, "O_NOFOLLOW"):  # pragma: no cover (not Linux)
        return _open_checked_by_path(root, uri)
    fds = [os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))]
    try:
        for index, name in enumerate(parts):
            last = index == len(parts) - 1
            try:
                fds.append(os.open(name, _FILE_FLAGS if last else _DIR_FLAGS, dir_fd=fds[-1]))
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and _is_link(name, fds[-1]):
                    raise symlink_rejected() from None
                raise
        fd = fds.pop()
    finally:
        for opened in fds:
            os.close(opened)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArtifactRejected(DeadLetterReason.SPECIAL_FILE, "NotARegularFile")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_checked_by_path(root: str, uri: str) -> BinaryIO:  # pragma: no cover (not Linux)
    """Fallback without openat/O_NOFOLLOW: check every component, then open (racy)."""
    if has_symlink_component(root, uri):
        raise symlink_rejected()
    if not stat.S_ISREG(os.lstat(uri).st_mode):
        raise ArtifactRejected(DeadLetterReason.SPECIAL_FILE, "NotARegularFile")
    return open(uri, "rb")


def has_symlink_component(root: str, uri: str) -> bool:
    """Is any existing component of ``uri`` below ``root`` a symbolic link? (local paths only)

    Used to tell a declared file reached through a link (never listed, never opened) from a
    missing one; reading always goes through ``open_input``.
    """
    if not is_local(uri):
        return False
    try:
        parts = _components(root, uri)
    except ArtifactRejected:
        return False
    path = root.rstrip("/") or "/"
    for name in parts:
        path = os.path.join(path, name)
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return False
        if stat.S_ISLNK(mode):
            return True
    return False
