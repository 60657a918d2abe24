"""Build seqlab's embedding kernels (the C++ loops of Word2Vec, FastText and GloVe) for this Python environment.

    python -m seqlab.embeddings.build

One printed line, as ``python -m seqlab.nn.bptt.build`` (``make install`` runs both); exit status 1
when they cannot be built, and the trainers then run their slower PyTorch steps.
"""

from __future__ import annotations

import logging
import sys

from seqlab.embeddings import _kernels
from seqlab.nn.bptt.build import report


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    return report(_kernels.WHAT, _kernels.build_folder(), lambda: _kernels._compile(announce=lambda line: None))


if __name__ == "__main__":
    sys.exit(main())
