"""The ``seqlab`` command: a thin dispatcher over the library, with every command registered here.

Each command is a function in a module of ``seqlab.cli`` (a group of commands is a ``typer.Typer``
there); this module names them all. The command modules import only typer, rich and the standard
library at their top and import seqlab's library inside the command, so ``seqlab --help``, a
command's ``--help`` and an argument error never import torch (tested).

Bad input (``SeqlabError``, unreadable files) prints one line with a hint and exits with
code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from seqlab.cli import (
    attention,
    configs,
    data,
    demo,
    diagnose,
    embed,
    experiment,
    params,
    tokenize,
    train,
    tutorials,
    use,
)
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


@app.callback()
def _root() -> None:
    """seqlab: sequence models from their equations, trained on real data."""


# training and the shipped configs
app.command("train")(train.train)
app.command("ls")(configs.list_configs)
app.command("cp")(configs.copy_config)
app.command("validate")(configs.validate)
# using a trained run
app.command("eval")(use.evaluate)
app.command("generate")(use.generate)
app.command("classify")(use.classify)
app.command("translate")(use.translate)
app.command("tag")(use.tag)
app.command("forecast")(use.forecast)
app.command("export")(use.export)
# the tour, the diagnostics and experiments, the curriculum
app.command("demo")(demo.demo)
app.add_typer(diagnose.diagnose_app, name="diagnose")
app.add_typer(experiment.experiment_app, name="experiment")
app.add_typer(tutorials.tutorials_app, name="tutorials")
app.add_typer(data.data_app, name="data")
app.command("params")(params.params)
app.command("attention")(attention.attention)
# text and embeddings
app.add_typer(tokenize.tokenize_app, name="tokenize")
app.add_typer(embed.embed_app, name="embed")

errors = Console(stderr=True, highlight=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m seqlab``."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        # typer handles usage errors itself (one line, exit code 2); ours arrive here
        app(args=args, prog_name="seqlab")
    except (SeqlabError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError,
            UnicodeDecodeError) as bad_input:
        if debug:
            raise
        errors.print(f"error: {one_line(bad_input)}", soft_wrap=True, markup=False)
        errors.print("hint: check the arguments above; add --debug for the traceback", soft_wrap=True)
        sys.exit(2)
    except OSError as error:
        if debug or error.errno is None:
            raise
        # a full disk, a read-only folder: the system's own words
        errors.print(f"error: {one_line(error)}", soft_wrap=True, markup=False)
        sys.exit(2)


def one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
