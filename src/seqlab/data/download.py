"""Download the shared datasets from their published sources, verifying every file's sha256.

For users who are online; the tests never call it. Each dataset is a list of files; a file comes
either straight from a URL or as a member of a zip archive at a URL. A file whose sha256 differs
from the one recorded in the data folder's MANIFEST.md is deleted and reported, never kept.

Example:
    >>> download("wnut17", "data")   # doctest: +SKIP
    [PosixPath('data/wnut17/wnut17train.conll'), ...]
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.files import write_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it goes, where it comes from, and its sha256."""

    path: str  # relative to the data folder, e.g. "wnut17/wnut17train.conll"
    url: str
    sha256: str
    member: str | None = None  # the member's name when ``url`` is a zip archive


_GH = "https://raw.githubusercontent.com"
_CHAR_RNN = f"{_GH}/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare"
_WNUT = f"{_GH}/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603"
_SKTIME = f"{_GH}/sktime/sktime/7bd7d1620c0656f3210eeb850bb1c0034159ee47/sktime/datasets/data/Airline"
_NLTK_DATA = f"{_GH}/nltk/nltk_data/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/corpora"
_GUTENBERG = f"{_GH}/yaushing/coursework/030b14e8d829e80362eb0d22c3fa8a1e93e5315c/nltk_data/corpora/gutenberg"
_D2L = "http://d2l-data.s3-accelerate.amazonaws.com"

_GUTENBERG_SHA256 = {
    "austen-emma.txt": "71b0923d75fcf2f1faa897b22da8de8e2476d7478a2b22388eb58a3420e00215",
    "austen-persuasion.txt": "cec097657cbfeb62aafe178973f514fa07ab66a5e28ea025ebd5d51ca870e40f",
    "austen-sense.txt": "57b169c7cfa502896dee25bd66616f61cc1d21084caf31f015176ee46fda9718",
    "blake-poems.txt": "840897a66e23a47dd1fd56b864f421b2be0af074dc081244f7995bf26939eee9",
    "bryant-stories.txt": "5d86761f8609a6501c0bf9c00e4dd7e391681eb179bcb3bd61c43b5aa0f53b68",
    "burgess-busterbrown.txt": "d3e237c6e895644b573dd47b0b35a6474ed559e1d0a0fd2ed525b95087c17d5b",
    "carroll-alice.txt": "5ce9042c0d8536b072b61d4c7c4e6d70c72d9dbb5f3d816261326d9280749266",
    "chesterton-ball.txt": "c6b6d4e8c09a3f49a09f37f4e47663d4d6f048b62d86c70ccafdfd8f27059a58",
    "chesterton-brown.txt": "67027976205b4b30e367c704807f56c8ffac3e8ea6037d993e57ab1fe28447ec",
    "chesterton-thursday.txt": "8b431a2a8db84089cd6f83fa66610c3b12c04114609df6e90137c0c58f2c5493",
    "edgeworth-parents.txt": "d36ac7a257467d242e1c3e3ae98d054853109873aa0899db25d045af619ad6f6",
    "melville-moby_dick.txt": "ff7424f923506564f5806983c046be4b60f50edcd48d327abf795dabb5eaa7f7",
    "milton-paradise.txt": "49028a77c557de1459e96c026edbe72997be2d9015925f7baefb793cd6fe706f",
    "shakespeare-caesar.txt": "7c46bd32fc84d9596bcad55b61ec3c1a390239acb190b286422855aafc2774b3",
    "shakespeare-hamlet.txt": "1eceab7027ad7e0cc25c6b6aadcb2e6bb070395cb2085f775ac732d63d5db240",
    "shakespeare-macbeth.txt": "d4a204352cfe5924cbae76f764225d120e9f7617d39cb8c949dedd3f306353ac",
    "whitman-leaves.txt": "93ebaf1dccc8f1514b4b1c2f52e64e81829113fc58cff63fb51ada0c72f99c3e",
}

SOURCES: dict[str, list[RemoteFile]] = {
    "tinyshakespeare": [
        RemoteFile("tinyshakespeare/input.txt", f"{_CHAR_RNN}/input.txt",
                   "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
    ],
    "timemachine": [
        RemoteFile("timemachine/timemachine.txt", f"{_D2L}/timemachine.txt",
                   "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516"),
    ],
    "fra-eng": [
        RemoteFile("fra-eng/fra.txt", f"{_D2L}/fra-eng.zip",
                   "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104", member="fra-eng/fra.txt"),
        RemoteFile("fra-eng/_about.txt", f"{_D2L}/fra-eng.zip",
                   "79f39a53dbddaf7ab43c801f231089174a611f23987244056f9e3cb5aa79358b", member="fra-eng/_about.txt"),
    ],
    "sentence_polarity": [
        RemoteFile(f"sentence_polarity/{name}", f"{_NLTK_DATA}/sentence_polarity.zip", sha,
                   member=f"sentence_polarity/{name}")
        for name, sha in [
            ("rt-polarity.pos", "c2dc6b2f55bcf725725372916287cc3f8f9b19402edaa9167de5287cb3ade421"),
            ("rt-polarity.neg", "614274f81185a850e5a88d533d4679f916d6f62e9af6f0b4ec71fb94bf466ea5"),
            ("README.txt", "94a2b97849746338d5f9533cdd8086ca11ffe6de168ec9f3d64d662fa733ecd3"),
        ]
    ],
    "wnut17": [
        RemoteFile(f"wnut17/{name}", f"{_WNUT}/{name}", sha)
        for name, sha in [
            ("wnut17train.conll", "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5"),
            ("emerging.dev.conll", "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8"),
            ("emerging.test.annotated", "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0"),
        ]
    ],
    "gutenberg": [
        RemoteFile(f"gutenberg/{name}", f"{_GUTENBERG}/{name}", sha) for name, sha in _GUTENBERG_SHA256.items()
    ],
    "airline": [
        RemoteFile("airline/Airline.csv", f"{_SKTIME}/Airline.csv",
                   "28af0eb869db6d9fbd31d5af03993a0cbf36c0857c3eb046a068c094b60da851"),
    ],
}


def download(name: str, dest: str | os.PathLike, timeout: float = 60.0,
             sources: dict[str, list[RemoteFile]] | None = None) -> list[Path]:
    """Fetch dataset ``name`` into ``dest/<name>/``, verify each sha256, and return the paths.

    Files already present with the right sha256 are not fetched again. ``sources`` replaces
    ``SOURCES`` (tests pass ``file://`` addresses).
    """
    table = SOURCES if sources is None else sources
    if name not in table:
        raise SeqlabError(f"dataset: expected one of {sorted(table)}, got {name!r}")
    dest = Path(dest)
    archives: dict[str, bytes] = {}  # one fetch per archive, shared by its members
    written = []
    for remote in table[name]:
        target = dest / remote.path
        if target.is_file() and _sha256(target.read_bytes()) == remote.sha256:
            written.append(target)
            continue
        if remote.member is None:
            data = _fetch(remote.url, timeout)
        else:
            if remote.url not in archives:
                archives[remote.url] = _fetch(remote.url, timeout)
            data = _extract(archives[remote.url], remote.member, remote.url)
        digest = _sha256(data)
        if digest != remote.sha256:
            raise SeqlabError(f"{remote.path}: sha256 {digest} from {remote.url} differs from the recorded "
                              f"{remote.sha256}; the file was not saved")
        write_atomic(target, data)
        log.info("downloaded %s (%d bytes) from %s", target, len(data), remote.url)
        written.append(target)
    return written


def _fetch(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except OSError as error:
        raise SeqlabError(f"could not download {url}: {error}") from error


def _extract(archive: bytes, member: str, url: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        try:
            return zipped.read(member)
        except KeyError as error:
            raise SeqlabError(f"{url}: the archive has no member {member!r}") from error


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
