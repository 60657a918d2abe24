"""Bundled corpora and the shared data folder.

Small datasets ship inside the package (``seqlab/data/bundled``, with ATTRIBUTION.md);
larger ones are found through the ``SEQLAB_DATA_DIR`` environment variable or an explicit path.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

from seqlab.errors import SeqlabError

TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def bundled_path(name: str) -> Path:
    """The path of a file or folder bundled in ``seqlab/data/bundled``."""
    path = Path(str(resources.files("seqlab.data") / "bundled" / name))
    if not path.exists():
        raise SeqlabError(f"bundled file {name!r} is missing from the installed package ({path})")
    return path


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The shared data folder: ``path`` if given, else ``$SEQLAB_DATA_DIR``."""
    value = path if path is not None else os.environ.get("SEQLAB_DATA_DIR")
    if not value:
        raise SeqlabError("no data folder: pass a path or set SEQLAB_DATA_DIR to the folder of datasets")
    folder = Path(value)
    if not folder.is_dir():
        raise SeqlabError(f"data folder {folder} does not exist")
    return folder


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_tiny_shakespeare() -> str:
    """Tiny Shakespeare (1,115,394 characters, 65 distinct), bundled with seqlab."""
    return bundled_path("tinyshakespeare.txt").read_text(encoding="utf-8")


def split_fraction(text: str, train_fraction: float = 0.9) -> tuple[str, str]:
    """The first ``train_fraction`` of a text for training and the rest for validation (nanoGPT's split)."""
    if not 0.0 < train_fraction < 1.0:
        raise SeqlabError(f"train_fraction: expected a value in (0, 1), got {train_fraction}")
    cut = int(len(text) * train_fraction)
    return text[:cut], text[cut:]
