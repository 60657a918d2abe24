"""Files a user keeps: atomic writes that never leave half a file, and text read with a clear error.

Every file seqlab writes goes through ``write_atomic``: the bytes go to a temporary file beside
the target, are flushed to disk, and the temporary file is renamed over the target, so a kill or
a full disk at any moment leaves either the old file or the new one, never a mixture. The new
file gets the permissions of a file created by ``open`` (``0o666`` less the user's umask), so a
run folder can be shared like any other folder.

Text is read with ``read_text``: a UTF-8 byte-order mark (as Excel writes) is dropped, Windows
line endings become ``\\n``, and bytes that are not valid in the encoding raise a ``SeqlabError``
that names the file, the byte and the line, and says how to pass another encoding.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_text_atomic(folder / "notes.txt", "\\ufeffline one\\r\\nline two\\r\\n")
    >>> read_text(folder / "notes.txt").splitlines()
    ['line one', 'line two']
"""

from __future__ import annotations

import codecs
import json
import os
import re
import tempfile
from pathlib import Path

from seqlab.errors import SeqlabError

TEMPORARY_SUFFIX = ".tmp"


def _creation_mode() -> int:
    """The mode ``open`` gives a new file: 0o666 less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        os.fchmod(fd, _creation_mode())  # mkstemp makes 0600 files; a saved file gets the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """``obj`` as indented UTF-8 JSON, written atomically."""
    write_atomic(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """``text`` as UTF-8, written atomically."""
    write_atomic(path, text.encode("utf-8"))


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files an interrupted ``write_atomic`` left in ``folder`` (and below); return them."""
    removed = []
    for path in Path(folder).rglob(f".*{TEMPORARY_SUFFIX}"):
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The text of ``path``: BOM dropped, ``\\r\\n`` and ``\\r`` read as ``\\n``, decode errors named.

    Raises:
        SeqlabError: the file is missing, is a folder, or is not valid ``encoding``.
    """
    path = Path(path)
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise SeqlabError(f"encoding: expected a codec name such as utf-8 or latin-1, got {encoding!r}") from None
    if codec == "utf-8":
        codec = "utf-8-sig"  # the same codec, and a leading byte-order mark is dropped
    if not path.exists():
        raise SeqlabError(f"{path}: no such file")
    if path.is_dir():
        raise SeqlabError(f"{path}: expected a file, got a folder")
    try:
        with open(path, encoding=codec, newline=None) as handle:  # newline=None: universal newlines
            return handle.read()
    except UnicodeDecodeError as error:
        raw = path.read_bytes()
        offset = error.start + (len(codecs.BOM_UTF8) if codec == "utf-8-sig" and raw.startswith(codecs.BOM_UTF8)
                                else 0)  # utf-8-sig counts from after the mark
        line = len(_LINE_END.findall(raw, 0, offset)) + 1
        raise SeqlabError(f"{path}: not valid {encoding} ({error.reason} at byte {offset}, line {line}); pass the "
                          "file's encoding, e.g. --encoding latin-1") from None


_LINE_END = re.compile(rb"\r\n|\r|\n")  # the line endings universal newlines reads


__all__ = ["read_text", "remove_temporaries", "write_atomic", "write_json_atomic", "write_text_atomic"]
