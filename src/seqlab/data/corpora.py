"""Bundled corpora and the data folder.

Small datasets ship inside the package (``seqlab/data/bundled``, with ATTRIBUTION.md); the
others are found by ``seqlab.data.locate`` in a data folder (an explicit path, ``$SEQLAB_DATA_DIR``
or the per-user folder that ``seqlab data get`` fills).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from seqlab.data.locate import bundled_root, download_dir
from seqlab.errors import SeqlabError
from seqlab.files import read_text

TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def bundled_path(name: str) -> Path:
    """The path of a file or folder bundled in ``seqlab/data/bundled``."""
    path = bundled_root() / name
    if not path.exists():
        raise SeqlabError(f"bundled file {name!r} is missing from the installed package ({path})")
    return path


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data folder a user writes to: ``path`` if given, else ``$SEQLAB_DATA_DIR``, else the per-user folder.

    It is where ``seqlab data get`` puts datasets; it may not exist yet. To find a dataset, use
    ``seqlab.data.locate``, which also looks in the other places.
    """
    return download_dir(path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_tiny_shakespeare() -> str:
    """Tiny Shakespeare (1,115,394 characters, 65 distinct), bundled with seqlab."""
    return read_text(bundled_path("tinyshakespeare.txt"))


def split_fraction(text: str, train_fraction: float = 0.9) -> tuple[str, str]:
    """The first ``train_fraction`` of a text for training and the rest for validation (nanoGPT's split)."""
    if not 0.0 < train_fraction < 1.0:
        raise SeqlabError(f"train_fraction: expected a value in (0, 1), got {train_fraction}")
    cut = int(len(text) * train_fraction)
    return text[:cut], text[cut:]
