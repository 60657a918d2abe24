"""The one exception type for bad input that a user can fix.

Library code raises ``SeqlabError`` (a ``ValueError``) with a message that names what was
expected and what came; the CLI prints it on one line and exits with code 2.
"""


class SeqlabError(ValueError):
    """Bad input: the message says what was expected and what was given."""
