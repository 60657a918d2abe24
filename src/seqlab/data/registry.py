"""Every dataset seqlab knows, in one table: what it is, its licence, where it comes from, its files.

A dataset is a folder of files (``wnut17/wnut17train.conll`` ...) inside a *data folder*. Each file
is pinned: the URL it is fetched from (a raw file at a fixed commit, or a member of a zip archive),
its size and its sha256. The same bytes are in the shared data folder (its MANIFEST.md records
the provenance of each one); ``seqlab data get NAME`` fetches them, ``seqlab data ls`` lists them.

Some datasets ship inside the package (``seqlab/data/bundled``, with ATTRIBUTION.md), whole or in
part: ``Dataset.bundled`` maps each file of the dataset to its bundled copy and says which part
ships. Where the copy is a part (the first 40,000 of the 167,130 Tatoeba pairs), the loaders say so
in a log line when it stands in for the whole.

Example:
    >>> dataset = get_dataset("wnut17")
    >>> dataset.licence, len(dataset.files), dataset.size
    ('CC BY 4.0', 3, 800955)
    >>> get_dataset("sentence_polarity").bundled.part
    'all of it'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seqlab.errors import SeqlabError


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it goes, where it comes from, its size and sha256."""

    path: str  # relative to the data folder, e.g. "wnut17/wnut17train.conll"
    url: str  # a raw file, or a zip archive holding ``member``
    sha256: str
    size: int  # bytes
    member: str | None = None  # the member's name when ``url`` is a zip archive
    archive_hash: str | None = None  # pooch's "alg:hex" of the archive itself, where one is published


WHOLE = "all of it"  # BundledCopy.part when the whole dataset ships


@dataclass(frozen=True)
class BundledCopy:
    """The part of a dataset that ships in ``seqlab/data/bundled``."""

    files: dict[str, str]  # data-folder path -> path inside seqlab/data/bundled
    part: str  # "all of it", or which part, e.g. "the first 40,000 of the 167,130 pairs"

    @property
    def is_whole(self) -> bool:
        return self.part == WHOLE


@dataclass(frozen=True)
class Dataset:
    """A dataset seqlab can load: its name (the folder), what it is, its licence, source and files."""

    name: str
    description: str
    task: str
    licence: str
    source: str  # where the pinned bytes come from (repository @ commit, path) and the original upstream
    citation: str
    files: tuple[RemoteFile, ...]
    bundled: BundledCopy | None = None
    loader: str = ""  # the seqlab function that reads it
    notes: tuple[str, ...] = field(default=())  # format traps worth knowing before reading the files

    @property
    def size(self) -> int:
        """Bytes of all its files."""
        return sum(remote.size for remote in self.files)

    def file(self, path: str) -> RemoteFile:
        """The file whose data-folder path is ``path``."""
        for remote in self.files:
            if remote.path == path:
                return remote
        raise SeqlabError(f"dataset {self.name}: expected one of its files {[r.path for r in self.files]}, "
                          f"got {path!r}")


_GH = "https://raw.githubusercontent.com"
_CHAR_RNN = f"{_GH}/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare"
_WNUT = f"{_GH}/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603"
_SKTIME = f"{_GH}/sktime/sktime/7bd7d1620c0656f3210eeb850bb1c0034159ee47/sktime/datasets/data/Airline"
_NLTK_DATA = f"{_GH}/nltk/nltk_data/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/corpora"
_GUTENBERG = f"{_GH}/yaushing/coursework/030b14e8d829e80362eb0d22c3fa8a1e93e5315c/nltk_data/corpora/gutenberg"
_D2L = "http://d2l-data.s3-accelerate.amazonaws.com"  # d2l's DATA_URL; the sha256 below pins the bytes
_D2L_FRA_ENG_SHA1 = "sha1:94646ad1522d915e7b0f9296181140edcf86a4f5"  # d2l DATA_HUB['fra-eng']

_GUTENBERG_FILES = {  # name: (bytes, sha256)
    "README": (9_351, "0bbe8db0799fcc3bee6a1dedb20d84477519f4e3c99b1f3156e7ce42c8140fab"),
    "austen-emma.txt": (887_071, "71b0923d75fcf2f1faa897b22da8de8e2476d7478a2b22388eb58a3420e00215"),
    "austen-persuasion.txt": (466_292, "cec097657cbfeb62aafe178973f514fa07ab66a5e28ea025ebd5d51ca870e40f"),
    "austen-sense.txt": (673_022, "57b169c7cfa502896dee25bd66616f61cc1d21084caf31f015176ee46fda9718"),
    "blake-poems.txt": (38_153, "840897a66e23a47dd1fd56b864f421b2be0af074dc081244f7995bf26939eee9"),
    "bryant-stories.txt": (243_901, "5d86761f8609a6501c0bf9c00e4dd7e391681eb179bcb3bd61c43b5aa0f53b68"),
    "burgess-busterbrown.txt": (82_992, "d3e237c6e895644b573dd47b0b35a6474ed559e1d0a0fd2ed525b95087c17d5b"),
    "carroll-alice.txt": (144_395, "5ce9042c0d8536b072b61d4c7c4e6d70c72d9dbb5f3d816261326d9280749266"),
    "chesterton-ball.txt": (457_450, "c6b6d4e8c09a3f49a09f37f4e47663d4d6f048b62d86c70ccafdfd8f27059a58"),
    "chesterton-brown.txt": (406_629, "67027976205b4b30e367c704807f56c8ffac3e8ea6037d993e57ab1fe28447ec"),
    "chesterton-thursday.txt": (320_525, "8b431a2a8db84089cd6f83fa66610c3b12c04114609df6e90137c0c58f2c5493"),
    "edgeworth-parents.txt": (916_861, "d36ac7a257467d242e1c3e3ae98d054853109873aa0899db25d045af619ad6f6"),
    "melville-moby_dick.txt": (1_220_066, "ff7424f923506564f5806983c046be4b60f50edcd48d327abf795dabb5eaa7f7"),
    "milton-paradise.txt": (468_220, "49028a77c557de1459e96c026edbe72997be2d9015925f7baefb793cd6fe706f"),
    "shakespeare-caesar.txt": (112_310, "7c46bd32fc84d9596bcad55b61ec3c1a390239acb190b286422855aafc2774b3"),
    "shakespeare-hamlet.txt": (162_881, "1eceab7027ad7e0cc25c6b6aadcb2e6bb070395cb2085f775ac732d63d5db240"),
    "shakespeare-macbeth.txt": (100_351, "d4a204352cfe5924cbae76f764225d120e9f7617d39cb8c949dedd3f306353ac"),
    "whitman-leaves.txt": (711_215, "93ebaf1dccc8f1514b4b1c2f52e64e81829113fc58cff63fb51ada0c72f99c3e"),
}

_DATASETS = [
    Dataset(
        name="tinyshakespeare",
        description="Tiny Shakespeare: 1,115,394 characters of the plays, 65 distinct (char-rnn, nanoGPT)",
        task="character-level language modelling",
        licence="public domain (char-rnn code: MIT)",
        source="karpathy/char-rnn @ 6f9487a, data/tinyshakespeare/input.txt",
        citation="Karpathy (2015), char-rnn",
        files=(RemoteFile("tinyshakespeare/input.txt", f"{_CHAR_RNN}/input.txt",
                          "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1_115_394),),
        bundled=BundledCopy({"tinyshakespeare/input.txt": "tinyshakespeare.txt"}, WHOLE),
        loader="seqlab.data.load_tiny_shakespeare",
    ),
    Dataset(
        name="timemachine",
        description="H. G. Wells, The Time Machine, as d2l distributes it (3,221 lines, 32,306 words)",
        task="character- and word-level language modelling",
        licence="public domain",
        source="d2l DATA_HUB['time_machine'] (sha1 090b5e7e)",
        citation="Zhang, Lipton, Li & Smola, Dive into Deep Learning",
        files=(RemoteFile("timemachine/timemachine.txt", f"{_D2L}/timemachine.txt",
                          "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516", 178_979),),
        loader="seqlab.data.load_timemachine",
    ),
    Dataset(
        name="fra-eng",
        description="Tatoeba English-French sentence pairs (manythings.org/anki, 2019-04-07): 167,130 pairs",
        task="machine translation",
        licence="CC BY 2.0 (Tatoeba)",
        source="d2l fra-eng.zip (release 2019-04-07 of Tatoeba pairs by manythings.org/anki)",
        citation="tatoeba.org and www.manythings.org/anki",
        files=(
            RemoteFile("fra-eng/fra.txt", f"{_D2L}/fra-eng.zip",
                       "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104", 11_669_748,
                       member="fra-eng/fra.txt", archive_hash=_D2L_FRA_ENG_SHA1),
            RemoteFile("fra-eng/_about.txt", f"{_D2L}/fra-eng.zip",
                       "79f39a53dbddaf7ab43c801f231089174a611f23987244056f9e3cb5aa79358b", 1_441,
                       member="fra-eng/_about.txt", archive_hash=_D2L_FRA_ENG_SHA1),
        ),
        bundled=BundledCopy({"fra-eng/fra.txt": "fra-eng/fra-first-40000.txt",
                             "fra-eng/_about.txt": "fra-eng/_about.txt"},
                            "the first 40,000 of 167,130 pairs"),
        loader="seqlab.data.load_fra_eng",
        notes=("French spacing uses U+00A0 and U+202F; load_fra_eng replaces both with a plain space",),
    ),
    Dataset(
        name="sentence_polarity",
        description="Movie-review snippets (MR, Pang & Lee 2005): 5,331 positive and 5,331 negative",
        task="sentiment classification",
        licence="CC BY 4.0",
        source="nltk/nltk_data @ 5db857e, packages/corpora/sentence_polarity.zip",
        citation="Pang & Lee (2005), Seeing stars, ACL",
        files=tuple(
            RemoteFile(f"sentence_polarity/{name}", f"{_NLTK_DATA}/sentence_polarity.zip", sha, size,
                       member=f"sentence_polarity/{name}")
            for name, size, sha in [
                ("rt-polarity.pos", 626_334, "c2dc6b2f55bcf725725372916287cc3f8f9b19402edaa9167de5287cb3ade421"),
                ("rt-polarity.neg", 612_441, "614274f81185a850e5a88d533d4679f916d6f62e9af6f0b4ec71fb94bf466ea5"),
                ("README.txt", 2_352, "94a2b97849746338d5f9533cdd8086ca11ffe6de168ec9f3d64d662fa733ecd3"),
            ]
        ),
        bundled=BundledCopy({f"sentence_polarity/{name}": f"sentence_polarity/{name}"
                             for name in ("rt-polarity.pos", "rt-polarity.neg", "README.txt")}, WHOLE),
        loader="seqlab.data.load_sentence_polarity",
    ),
    Dataset(
        name="wnut17",
        description="WNUT-17 emerging entities: tweets, Reddit, YouTube, StackExchange; BIO tags, 6 types",
        task="named-entity recognition",
        licence="CC BY 4.0",
        source="leondz/emerging_entities_17 @ e52a2d2",
        citation="Derczynski, Nichols, van Erp & Limsopatham (2017), W-NUT",
        files=tuple(
            RemoteFile(f"wnut17/{name}", f"{_WNUT}/{name}", sha, size)
            for name, size, sha in [
                ("wnut17train.conll", 493_781, "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5"),
                ("emerging.dev.conll", 114_749, "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8"),
                ("emerging.test.annotated", 192_425,
                 "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0"),
            ]
        ),
        loader="seqlab.data.load_wnut17",
        notes=("the train file ends a sentence at an empty line or at a line holding only a TAB",),
    ),
    Dataset(
        name="gutenberg",
        description="NLTK's Project Gutenberg selections: 17 public-domain books, about 1.33M words",
        task="raw English text for Word2Vec, GloVe, BPE, word-level language models",
        licence="public domain",
        source="yaushing/coursework @ 030b14e, nltk_data/corpora/gutenberg (NLTK's gutenberg.zip)",
        citation="NLTK, Project Gutenberg Selections",
        files=tuple(RemoteFile(f"gutenberg/{name}", f"{_GUTENBERG}/{name}", sha, size)
                    for name, (size, sha) in _GUTENBERG_FILES.items()),
        loader="seqlab.data.load_gutenberg",
        notes=("the texts are Latin-1, not UTF-8",),
    ),
    Dataset(
        name="airline",
        description="Box & Jenkins Series G: monthly airline passengers (thousands), 1949-01 to 1960-12",
        task="univariate forecasting",
        licence="BSD-3-Clause (as distributed by sktime)",
        source="sktime/sktime @ 7bd7d16, sktime/datasets/data/Airline/Airline.csv",
        citation="Box, Jenkins & Reinsel (1976), Time Series Analysis, Series G",
        files=(RemoteFile("airline/Airline.csv", f"{_SKTIME}/Airline.csv",
                          "28af0eb869db6d9fbd31d5af03993a0cbf36c0857c3eb046a068c094b60da851", 1_744),),
        bundled=BundledCopy({"airline/Airline.csv": "airline/Airline.csv"}, WHOLE),
        loader="seqlab.data.load_airline",
    ),
]

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in _DATASETS}


def get_dataset(name: str) -> Dataset:
    """The dataset called ``name``; a one-line ``SeqlabError`` listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise SeqlabError(f"dataset: expected one of {', '.join(sorted(DATASETS))}, got {name!r}") from None


__all__ = ["DATASETS", "BundledCopy", "Dataset", "RemoteFile", "get_dataset"]
