"""The ``seqlab`` command line: thin handlers over the library."""
