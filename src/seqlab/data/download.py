"""Fetch a dataset from its pinned source with pooch, verify every file's sha256, and put it in place.

``download("wnut17")`` fetches the files listed in ``seqlab.data.registry`` into a data folder
(``dest``, else ``$SEQLAB_DATA_DIR``, else the per-user folder; see ``seqlab.data.locate``), as
``<folder>/wnut17/wnut17train.conll`` and so on. pooch does the transfer, checks a raw file's
sha256 (and a zip archive's published hash, where there is one) and unpacks zip members; each
member's sha256 is checked here. A file that does not match is deleted, never kept: the download
happens in a staging folder inside the destination and only verified files are renamed into place.
Files already present with the right sha256 are not fetched again.

When a source cannot be reached, the ``SeqlabError`` names the URL and says how to place the
file by hand: the exact path and the sha256 to check.

Example:
    >>> download("wnut17")                                   # doctest: +SKIP
    [PosixPath('/home/me/.local/share/seqlab/datasets/wnut17/wnut17train.conll'), ...]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pooch
import requests

from seqlab.data.corpora import sha256_of
from seqlab.data.locate import download_dir
from seqlab.data.registry import Dataset, RemoteFile, get_dataset
from seqlab.errors import SeqlabError

log = logging.getLogger(__name__)

# A progress bar as pooch drives one: ``total`` is set, then ``update(n)``, ``reset()``, ``close()``.
ProgressFactory = Callable[[str], object]


def download(dataset: str | Dataset, dest: str | os.PathLike | None = None, *, timeout: float = 60.0,
             progress: ProgressFactory | None = None) -> list[Path]:
    """Fetch ``dataset`` (a name or a ``Dataset``) into a data folder; return its files' paths in table order.

    Args:
        dest: the data folder; the files go to ``dest/<name>/``. Default ``$SEQLAB_DATA_DIR``,
            else the per-user folder.
        timeout: seconds to wait for a server before giving up.
        progress: called with a label (the file or archive name) for each transfer; returns a
            progress bar pooch can drive (``total``, ``update``, ``reset``, ``close``). None: no bar.

    Raises:
        SeqlabError: unknown name; a source that cannot be reached (the message says how to place
            the file by hand); a file whose sha256 differs from the pinned one (nothing is kept).
    """
    if isinstance(dataset, str):
        dataset = get_dataset(dataset)
    folder = download_dir(dest)
    targets = {remote.path: folder / remote.path for remote in dataset.files}
    todo = [remote for remote in dataset.files if not _is_verified(targets[remote.path], remote.sha256)]
    if not todo:
        log.info("%s: all %d files already in %s", dataset.name, len(targets), folder)
        return list(targets.values())
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".seqlab-get-{dataset.name}-", dir=folder))
    try:
        with _pooch_quiet():
            for index, (url, group) in enumerate(_by_url(todo).items()):
                # one staging folder per fetch: two URLs may end in the same file name
                fetched = _fetch(url, group, staging / str(index), timeout, progress, dataset, targets)
                for remote in group:
                    _check(fetched[remote.path], remote, url)
                    targets[remote.path].parent.mkdir(parents=True, exist_ok=True)
                    os.chmod(fetched[remote.path], _usual_mode())  # pooch's temporary files are 0600
                    os.replace(fetched[remote.path], targets[remote.path])
                    log.info("%s: %s (%d bytes, sha256 verified) from %s", dataset.name, targets[remote.path],
                             remote.size, url)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return list(targets.values())


def _by_url(remotes: list[RemoteFile]) -> dict[str, list[RemoteFile]]:
    """The files grouped by the URL they come from (the members of one archive share a fetch)."""
    groups: dict[str, list[RemoteFile]] = {}
    for remote in remotes:
        groups.setdefault(remote.url, []).append(remote)
    return groups


def _fetch(url: str, group: list[RemoteFile], where: Path, timeout: float, progress: ProgressFactory | None,
           dataset: Dataset, targets: dict[str, Path]) -> dict[str, Path]:
    """Download ``url`` into ``where`` with pooch; the staged file of each of ``group``'s data paths."""
    name = url.rsplit("/", 1)[-1]
    downloader = pooch.HTTPDownloader(progressbar=progress(name) if progress else False, timeout=timeout)
    archive = group[0].member is not None
    try:
        if not archive:
            fetched = pooch.retrieve(url, known_hash=f"sha256:{group[0].sha256}", fname=name, path=where,
                                     downloader=downloader)
            return {group[0].path: Path(fetched)}
        unzip = pooch.Unzip(members=[remote.member for remote in group], extract_dir="members")
        pooch.retrieve(url, known_hash=group[0].archive_hash, fname=name, path=where, processor=unzip,
                       downloader=downloader)
    except requests.exceptions.RequestException as error:
        if error.response is not None:
            error.response.close()  # pooch streams: an error response still holds its connection open
        raise SeqlabError(_unreachable(url, _reason(error, timeout), group[0], dataset, targets)) from None
    except zipfile.BadZipFile:
        raise SeqlabError(f"{dataset.name}: the download from {url} is not a zip archive; nothing was kept") from None
    except ValueError as error:
        if "hash" not in str(error):  # pooch refuses the URL itself (an unknown protocol)
            raise SeqlabError(f"{dataset.name}: cannot download {url}: {_first_sentence(error)}") from None
        pinned = group[0].archive_hash if archive else f"sha256:{group[0].sha256}"
        raise SeqlabError(f"{dataset.name}: the download from {url} does not match the pinned {pinned}; "
                          f"nothing was kept ({_first_sentence(error)})") from None
    staged = {}
    for remote in group:
        member = where / "members" / remote.member
        if not member.is_file():
            raise SeqlabError(f"{dataset.name}: the archive {url} has no member {remote.member!r}; nothing was kept")
        staged[remote.path] = member
    return staged


def _check(path: Path, remote: RemoteFile, url: str) -> None:
    digest = sha256_of(path)
    if digest != remote.sha256:
        raise SeqlabError(f"{remote.path}: the file from {url} has sha256 {digest}, expected the pinned "
                          f"{remote.sha256}; nothing was kept")


def _unreachable(url: str, reason: str, remote: RemoteFile, dataset: Dataset, targets: dict[str, Path]) -> str:
    target = targets[remote.path]
    if remote.member is None:
        by_hand = f"save that file as {target} and check its sha256 is {remote.sha256}"
    else:
        by_hand = (f"take {remote.member} from that zip, save it as {target} and check its sha256 is "
                   f"{remote.sha256}")
    others = len(dataset.files) - 1
    more = f"; `seqlab data info {dataset.name}` lists the other {others} file(s)" if others else ""
    return f"could not download {url} ({reason}); to place it by hand, {by_hand}{more}"


def _reason(error: requests.exceptions.RequestException, timeout: float) -> str:
    """A few words for why a request failed, without the stack of wrapped exceptions."""
    if isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code} {error.response.reason}".strip()
    if isinstance(error, requests.exceptions.Timeout):
        return f"no answer within {timeout:g} s"
    errno_text = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if errno_text:
        return errno_text.group(1).strip()
    return type(error).__name__


def _first_sentence(error: Exception) -> str:
    return " ".join(str(error).split(". ")[0].split())


def _usual_mode() -> int:
    """The mode ``open`` gives a new file (0o666 less the umask), so a shared data folder stays readable."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _is_verified(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_of(path) == sha256


@contextlib.contextmanager
def _pooch_quiet() -> Iterator[None]:
    """pooch's logger writes to stderr itself; the library only logs through its own loggers."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


__all__ = ["ProgressFactory", "download"]
