"""The ``seqlab`` command: a thin dispatcher over the library.

Each sub-command lives in its own module of ``seqlab.cli`` and registers itself here.
Bad input (``SeqlabError``, unreadable files) prints one line with a hint and exits with
code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from seqlab.errors import SeqlabError

app = typer.Typer(
    name="seqlab",
    help="seqlab: sequence models from their equations, trained on real data.\n\n"
    "Add --debug anywhere to see the traceback of an error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
errors = Console(stderr=True, highlight=False)



@app.callback()
def _root() -> None:
    """seqlab: sequence models from their equations, trained on real data."""


# Sub-commands: each module adds its commands to ``app`` when imported.
from seqlab.cli import attention as _attention  # noqa: E402, F401
from seqlab.cli import configs as _configs  # noqa: E402, F401
from seqlab.cli import demo as _demo  # noqa: E402, F401
from seqlab.cli import diagnose as _diagnose  # noqa: E402, F401
from seqlab.cli import embed as _embed  # noqa: E402, F401
from seqlab.cli import experiment as _experiment  # noqa: E402, F401
from seqlab.cli import forecast as _forecast  # noqa: E402, F401
from seqlab.cli import params as _params  # noqa: E402, F401
from seqlab.cli import tokenize as _tokenize  # noqa: E402, F401
from seqlab.cli import train as _train  # noqa: E402, F401
from seqlab.cli import translate as _translate  # noqa: E402, F401
from seqlab.cli import tutorials as _tutorials  # noqa: E402, F401
from seqlab.cli import use as _use  # noqa: E402, F401


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m seqlab``."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        # typer handles usage errors itself (one line, exit code 2); ours arrive here
        app(args=args, prog_name="seqlab")
    except (SeqlabError, FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as bad_input:
        if debug:
            raise
        errors.print(f"error: {one_line(bad_input)}")
        errors.print("hint: check the arguments above; add --debug for the traceback")
        sys.exit(2)


def one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
