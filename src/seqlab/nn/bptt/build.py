"""Build seqlab's BPTT kernels for this Python environment, ahead of their first use.

    python -m seqlab.nn.bptt.build

Prints one line (what it does, then how long it took, or that the kernels are already built)
and exits with status 1 when they cannot be built (no C++ compiler, say): seqlab then runs its
bptt engine on the slower pure-PyTorch functions. ``seqlab.nn.bptt.extension`` says where the
build goes and how concurrent builds are kept apart.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from seqlab.nn.bptt import extension


def report(what: str, folder: Path, build) -> int:
    """Build one of seqlab's C++ extensions, saying so in one printed line; the exit status (1: it failed).

    Args:
        what: what is built, e.g. "seqlab's BPTT kernels".
        folder: its build folder (``extension.is_built(folder)`` tells whether there is anything to do).
        build: builds and loads it; raises when it cannot (no compiler, say).
    """
    if extension.is_built(folder):
        print(f"{what} are built ({folder})")
        return 0
    print(f"building {what} ({extension.ABOUT})...", end=" ", flush=True)
    started = time.perf_counter()
    try:
        build()
    except Exception as error:  # a missing compiler shows up as many different exception types
        print(f"failed: {extension.describe(error)}")
        print("seqlab will run their work as the slower pure-PyTorch functions")
        return 1
    print(f"done in {time.perf_counter() - started:.0f} s ({folder})")
    return 0


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    return report("seqlab's BPTT kernels", extension.build_folder(),
                  lambda: extension.load(build=True, announce=lambda line: None))


if __name__ == "__main__":
    sys.exit(main())
