"""Where seqlab's BPTT kernels are built (once per Python environment), and how they are loaded.

    python -m seqlab.nn.bptt.build     # builds them ahead of first use; `make install` runs it

The C++ sources in ``csrc/`` are compiled by ``torch.utils.cpp_extension`` (the system's C++
compiler and ninja; no network) into a folder that belongs to the environment:

* ``$TORCH_EXTENSIONS_DIR/seqlab_bptt_<digest>`` when ``TORCH_EXTENSIONS_DIR`` is set;
* ``<sys.prefix>/var/cache/seqlab/seqlab_bptt_<digest>`` otherwise, when that is writable;
* ``~/.cache/seqlab/<environment digest>/seqlab_bptt_<digest>`` when ``sys.prefix`` is read-only.

``<digest>`` covers the sources, the compiler flags, the torch version and the Python version:
two environments never load or overwrite each other's library, and new sources or a new torch
build afresh instead of loading a stale library.

A build holds an exclusive lock on ``<folder>.lock`` (``fcntl.flock``): a second process that
needs the kernels meanwhile waits for the build instead of compiling the same files into the
same folder, then loads the result. The lock dies with its process, so a build killed half-way
leaves no stale lock; it leaves no ``built.json`` marker either, so the next use wipes the half
-built folder and starts over. (torch's own ``FileBaton`` alone would wait forever on the lock
file of a killed build.)

When the kernels are missing at first use, ``seqlab.nn.bptt`` builds them then, after one
WARNING log line, and falls back to its pure-PyTorch functions if the build fails.

Other C++ extensions of seqlab build the same way: ``cache_root()``, ``environment_digest`` for
their key, ``simd_flags()``, ``inline_compiler`` for a source held in a string, and
``build_and_load`` for the lock, the marker and the message; ``seqlab.nn.bptt.build.report``
prints the one line of their build command.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
import warnings
from pathlib import Path

import torch

from seqlab.files import write_json_atomic

try:  # POSIX; elsewhere builds rely on torch's FileBaton alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)

NAME = "seqlab_bptt"
SOURCE_DIR = Path(__file__).parent / "csrc"
MARKER = "built.json"
ABOUT = "about a minute, once per environment"


def sources() -> list[Path]:
    """Every file of the kernels: the one translation unit and the headers it includes."""
    return sorted(p for p in SOURCE_DIR.iterdir() if p.suffix in (".cpp", ".h"))


def simd_flags() -> list[str]:
    """AVX2 and FMA, for ATen's ``Vectorized`` too, when this CPU has them (as PyTorch's own AVX2 kernels are
    built); nothing otherwise. Shared with the other C++ extensions of seqlab (the embedding trainers)."""
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "DEFAULT")()
    if capability in ("AVX2", "AVX512"):
        return ["-mavx2", "-mfma", "-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2"]
    return []


def compile_flags() -> list[str]:
    """-O3 and ``simd_flags()``; the panel GEMM (``csrc/gemm.h``) on AVX2 CPUs, while AVX-512 CPUs keep MKL's
    AVX-512 kernels for the products."""
    flags = ["-O3", *simd_flags()]
    if getattr(torch.backends.cpu, "get_cpu_capability", lambda: "DEFAULT")() == "AVX2":
        flags.append("-DSEQLAB_PANEL_GEMM")
    return flags


def environment_digest(contents: list[bytes], flags: list[str]) -> str:
    """A library's key: its sources' contents, its compiler flags, the torch and Python versions, the machine."""
    h = hashlib.sha256()
    for content in contents:
        h.update(content + b"\0")
    h.update(json.dumps([flags, torch.__version__, sys.version, platform.machine()]).encode())
    return h.hexdigest()[:16]


def digest() -> str:
    """The bptt kernels' key (``environment_digest`` of every file in ``csrc/``, names included)."""
    return environment_digest([p.name.encode() + b"\0" + p.read_bytes() for p in sources()], compile_flags())


def cache_root() -> Path:
    """The folder that holds this environment's builds (see the module docstring)."""
    if os.environ.get("TORCH_EXTENSIONS_DIR"):
        return Path(os.environ["TORCH_EXTENSIONS_DIR"])
    owned = Path(sys.prefix) / "var" / "cache" / "seqlab"
    try:
        owned.mkdir(parents=True, exist_ok=True)
        if os.access(owned, os.W_OK):
            return owned
    except OSError:
        pass
    environment = hashlib.sha256(str(Path(sys.prefix).resolve()).encode()).hexdigest()[:12]
    return Path.home() / ".cache" / "seqlab" / environment


def build_folder() -> Path:
    return cache_root() / f"{NAME}_{digest()}"


def is_built(folder: Path | None = None) -> bool:
    return ((folder or build_folder()) / MARKER).is_file()


def loaded() -> bool:
    """Whether the operators are registered in this process (torch.ops.seqlab_bptt)."""
    return hasattr(torch.ops, NAME) and hasattr(getattr(torch.ops, NAME), "lstm_sequence_forward")


def _compile(folder: Path) -> Path:
    """Compile into ``folder`` and load the library into this process; its path."""
    # deferred: importing cpp_extension (and setuptools with it) takes about a second, and only a build needs it
    from torch.utils.cpp_extension import load as load_extension

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_extension(folder.name, [str(p) for p in sources() if p.suffix == ".cpp"], extra_cflags=compile_flags(),
             extra_include_paths=[str(SOURCE_DIR)], build_directory=str(folder), is_python_module=False,
             verbose=False)
    for warning in caught:
        log.info("while compiling the bptt kernels: %s", warning.message)
    return folder / f"{folder.name}.so"


class _Lock:
    """An exclusive lock on a file, held until exit; the OS drops it if the process dies."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")  # closed in __exit__
        if fcntl is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if fcntl is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        self.handle.close()


def inline_compiler(source: str, flags: list[str]):
    """A ``compile(folder) -> library path`` for ``build_and_load`` that builds one C++ source string (written
    into the folder as ``<folder name>.cpp``) with ``flags``; the library registers its own operators."""
    def compile_(folder: Path) -> Path:
        # deferred: importing cpp_extension (and setuptools with it) takes about a second, and only a build needs it
        from torch.utils.cpp_extension import load as load_extension

        cpp = folder / f"{folder.name}.cpp"
        cpp.write_text(source)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_extension(folder.name, [str(cpp)], extra_cflags=flags, build_directory=str(folder),
                           is_python_module=False, verbose=False)
        for warning in caught:
            log.info("while compiling %s: %s", folder.name, warning.message)
        return folder / f"{folder.name}.so"

    return compile_


def build_and_load(folder: Path, compile_, *, build: bool = True, announce=None,
                   what: str = "seqlab's BPTT kernels", command: str = "python -m seqlab.nn.bptt.build") -> bool:
    """Load the library built in ``folder`` into this process, building it first with ``compile_`` if asked.

    The part every seqlab extension shares: the lock that keeps concurrent first uses to one build, the
    ``built.json`` marker that tells a finished build from an interrupted one (whose folder is wiped), and the
    one line said before compiling. ``folder`` is ``cache_root() / f"{name}_{key}"``, ``key`` from
    ``environment_digest``.

    Args:
        folder: where the build goes (created; the lock is ``<folder>.lock`` beside it).
        compile_: ``compile_(folder) -> path of the library``, which it also loads (as torch's ``load`` does).
        build: compile when there is no finished build yet (else return False).
        announce: called with one line before a compilation starts (default: a logged WARNING).
        what, command: the library and the command that builds it ahead of first use, for that line.

    Returns:
        True when the library is loaded. A failed build raises (the caller decides what to do).
    """
    if not is_built(folder) and not build:
        return False
    with _Lock(folder.with_name(folder.name + ".lock")):
        if is_built(folder):  # built meanwhile by another process, or earlier
            torch.ops.load_library(str(folder / json.loads((folder / MARKER).read_text())["library"]))
            return True
        (announce or log.warning)(f"building {what} into {folder} ({ABOUT}; `{command}` does it ahead of first use)")
        if folder.exists():
            shutil.rmtree(folder)  # what an interrupted build left
        started = time.perf_counter()
        folder.mkdir(parents=True)
        library = compile_(folder)
        write_json_atomic(folder / MARKER, {"library": library.name, "torch": torch.__version__,
                                            "seconds": round(time.perf_counter() - started)})
    return True


def load(build: bool = True, *, announce=None) -> bool:
    """Make ``torch.ops.seqlab_bptt`` available: load this environment's build, building it if asked.

    Args:
        build: compile when there is no build yet (else return False).
        announce: called with one line before a compilation starts (default: a logged WARNING).

    Returns:
        True when the operators are loaded. A failed build raises (the caller decides what to do).
    """
    if loaded():
        return True
    return build_and_load(build_folder(), _compile, build=build, announce=announce)


def describe(error: Exception) -> str:
    """One line about a failed build: the exception's type and the last line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[-1]}" if lines else type(error).__name__
