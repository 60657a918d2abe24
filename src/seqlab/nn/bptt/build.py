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

from seqlab.nn.bptt import extension


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    folder = extension.build_folder()
    if extension.is_built(folder):
        print(f"seqlab's BPTT kernels are built ({folder})")
        return 0
    print(f"building seqlab's BPTT kernels ({extension.ABOUT})...", end=" ", flush=True)
    started = time.perf_counter()
    try:
        extension.load(build=True, announce=lambda line: None)
    except Exception as error:  # a missing compiler shows up as many different exception types
        print(f"failed: {extension.describe(error)}")
        print("seqlab will run its bptt engine on the slower pure-PyTorch functions")
        return 1
    print(f"done in {time.perf_counter() - started:.0f} s ({folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
