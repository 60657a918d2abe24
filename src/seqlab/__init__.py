"""seqlab: sequence models written from their equations and proven against PyTorch.

The package is layered; each folder is one stage of the data's trip (see the README):
``text`` (str -> ids), ``data`` (ids -> batches), ``nn`` (cells, layers, attention),
``models``, ``training``, ``diagnostics``, ``plots`` and the thin ``cli``.
"""

from seqlab.errors import SeqlabError

__version__ = "0.1.0"
__all__ = ["SeqlabError", "__version__"]
