"""Where a dataset is: a folder you name, ``$SEQLAB_DATA_DIR``, your user folder, or the bundled copy.

Every loader finds its files here, in this order:

1. an explicit ``root`` (a data folder holding ``<name>/...``): only there, an error if it is not;
2. ``$SEQLAB_DATA_DIR``, a folder of datasets you keep (a team's shared copy, say);
3. the per-user folder where ``seqlab data get`` puts datasets: ``$SEQLAB_HOME/datasets``, by
   default platformdirs' user data folder (``~/.local/share/seqlab/datasets`` on Linux);
4. the copy that ships inside the package, where one does; a log line says so when that copy is
   only a part of the dataset (fra-eng: the first 40,000 pairs).

A folder counts when it holds every file of the dataset. When none does, a one-line
``SeqlabError`` gives the command that fetches it: ``seqlab data get NAME``.

Example:
    >>> location = locate("sentence_polarity")  # found at least in the copy that ships with seqlab
    >>> location.file("sentence_polarity/rt-polarity.pos").name
    'rt-polarity.pos'
    >>> location.place in (PATH, DATA_FOLDER, USER_FOLDER, BUNDLED)
    True
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

from seqlab.data.registry import WHOLE, Dataset, get_dataset
from seqlab.errors import SeqlabError

log = logging.getLogger(__name__)

DATA_DIR_ENV = "SEQLAB_DATA_DIR"
HOME_ENV = "SEQLAB_HOME"

# the places a dataset can be, in the order they are searched
PATH, DATA_FOLDER, USER_FOLDER, BUNDLED = "path", "data folder", "user folder", "bundled"


def user_data_dir() -> Path:
    """The per-user folder of datasets: ``$SEQLAB_HOME/datasets``, else platformdirs' user data folder."""
    home = os.environ.get(HOME_ENV)
    base = Path(home).expanduser() if home else Path(platformdirs.user_data_dir("seqlab", appauthor=False))
    return base / "datasets"


def env_data_dir() -> Path | None:
    """``$SEQLAB_DATA_DIR`` as a path, or None when it is unset or empty."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def bundled_root() -> Path:
    """The folder of the datasets that ship inside the package (``seqlab/data/bundled``)."""
    return Path(str(resources.files("seqlab.data") / "bundled"))


def download_dir(dest: str | os.PathLike | None = None) -> Path:
    """Where ``seqlab data get`` puts a dataset: ``dest``, else ``$SEQLAB_DATA_DIR``, else the user folder."""
    if dest is not None:
        return Path(dest).expanduser()
    return env_data_dir() or user_data_dir()


@dataclass(frozen=True)
class Location:
    """Where a dataset was found: the place, the folder, and the path of each of its files."""

    dataset: Dataset
    place: str  # PATH, DATA_FOLDER, USER_FOLDER or BUNDLED
    folder: Path  # the data folder (for BUNDLED: seqlab/data/bundled)
    files: dict[str, Path]  # data-folder path ("wnut17/wnut17train.conll") -> the file
    part: str = WHOLE  # which part of the dataset these files are

    @property
    def is_whole(self) -> bool:
        return self.part == WHOLE

    def file(self, path: str) -> Path:
        """The file for data-folder path ``path`` (e.g. ``"fra-eng/fra.txt"``)."""
        self.dataset.file(path)  # names the dataset's files when ``path`` is not one of them
        return self.files[path]

    def describe(self) -> str:
        """``"bundled (the first 40,000 of the 167,130 pairs)"``, ``"user folder /home/me/..."``."""
        if self.place == BUNDLED:
            return BUNDLED if self.is_whole else f"{BUNDLED} ({self.part})"
        return f"{self.place} {self.folder}"


def _in_folder(dataset: Dataset, folder: Path) -> dict[str, Path]:
    return {remote.path: folder / remote.path for remote in dataset.files}


def _missing(files: dict[str, Path]) -> list[str]:
    return [path for path, file in files.items() if not file.is_file()]


def candidates(name: str, root: str | os.PathLike | None = None) -> list[Location]:
    """Every place the dataset would be looked for, in search order, whether or not it is there."""
    dataset = get_dataset(name)
    if root is not None:
        folder = Path(root).expanduser()
        return [Location(dataset, PATH, folder, _in_folder(dataset, folder))]
    found = []
    shared = env_data_dir()
    if shared is not None:
        found.append(Location(dataset, DATA_FOLDER, shared, _in_folder(dataset, shared)))
    user = user_data_dir()
    found.append(Location(dataset, USER_FOLDER, user, _in_folder(dataset, user)))
    if dataset.bundled is not None:
        bundled = bundled_root()
        files = {path: bundled / inside for path, inside in dataset.bundled.files.items()}
        found.append(Location(dataset, BUNDLED, bundled, files, dataset.bundled.part))
    return found


def find(name: str, root: str | os.PathLike | None = None) -> Location | None:
    """The first place that holds every file of dataset ``name``, or None. Logs nothing."""
    for location in candidates(name, root):
        if not _missing(location.files):
            return location
    return None


def locate(name: str, root: str | os.PathLike | None = None) -> Location:
    """Where dataset ``name`` is, searched in the module's order; a ``SeqlabError`` with the command otherwise.

    When the bundled copy is used, a log line says so (a warning when it is only a part).
    """
    if root is not None and not Path(root).expanduser().is_dir():
        raise SeqlabError(f"data folder {root} does not exist; expected a folder holding {name}/, "
                          f"e.g. one made by: seqlab data get {name} --dest {root}")
    shared = env_data_dir()
    if root is None and shared is not None and not shared.is_dir():
        log.warning("%s=%s is not a folder; looking for %s elsewhere", DATA_DIR_ENV, shared, name)
    location = find(name, root)
    if location is None:
        raise SeqlabError(_not_found(name, root))
    if location.place == BUNDLED:
        if location.is_whole:
            log.info("%s: using the copy bundled with seqlab", name)
        else:
            log.warning("%s: using the part bundled with seqlab, %s; `seqlab data get %s` fetches all of it",
                        name, location.part, name)
    return location


def _not_found(name: str, root: str | os.PathLike | None) -> str:
    looked = []
    for location in candidates(name, root):
        missing = _missing(location.files)
        label = {PATH: str(location.folder), DATA_FOLDER: f"{DATA_DIR_ENV}={location.folder}",
                 USER_FOLDER: str(location.folder)}.get(location.place, location.place)
        if 0 < len(missing) < len(location.files):
            label += f" (has {len(location.files) - len(missing)} of its {len(location.files)} files; "
            label += f"{missing[0]} is missing)"
        looked.append(label)
    command = f"seqlab data get {name}" + (f" --dest {root}" if root is not None else "")
    return f"dataset {name} not found (looked in {', '.join(looked)}); get it with: {command}"


def dataset_file(path: str, root: str | os.PathLike | None = None) -> Path:
    """The file at data-folder path ``path`` (e.g. ``"wnut17/wnut17train.conll"``), wherever its dataset is."""
    name = path.split("/", 1)[0]
    return locate(name, root).file(path)


__all__ = [
    "BUNDLED",
    "DATA_DIR_ENV",
    "DATA_FOLDER",
    "HOME_ENV",
    "PATH",
    "USER_FOLDER",
    "Location",
    "bundled_root",
    "candidates",
    "dataset_file",
    "download_dir",
    "env_data_dir",
    "find",
    "locate",
    "user_data_dir",
]
