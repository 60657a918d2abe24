"""Shared by the CLI commands that read a corpus: the files a user named."""

from __future__ import annotations

from pathlib import Path

from seqlab.errors import SeqlabError


def text_files(paths: list[Path]) -> list[Path]:
    """The files among ``paths``, each folder replaced by its ``*.txt`` files in sorted order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.txt"))
            if not found:
                raise SeqlabError(f"{path}: expected a text file or a folder of *.txt files, found no *.txt")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise SeqlabError(f"{path}: no such file or folder")
    return files
