"""``seqlab params``: the model-size table, published parameter counts against the models as built."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def params(
    notes: Annotated[bool, typer.Option("--notes/--no-notes", help="Show the note under each row.")] = True,
) -> None:
    """Print published model sizes next to the parameter counts of seqlab's builds of the same configurations.

    Each model is built on PyTorch's meta device (no memory), so this takes a second.

    Examples:

        seqlab params

        seqlab params --no-notes
    """
    from seqlab.models.sizes import TOLERANCE, model_sizes

    console = Console()
    table = Table(title="Model sizes: published vs. built by seqlab")
    for column in ("model", "published", "built", "deviation"):
        table.add_column(column, justify="left" if column == "model" else "right")
    rows = model_sizes()
    for row in rows:
        mark = "" if row.within_tolerance else f" (> {TOLERANCE:.0%})"
        table.add_row(row.name, f"{row.published:,}", f"{row.built:,}", f"{row.deviation:+.2%}{mark}")
    console.print(table)
    for row in rows:
        console.print(f"[bold]{row.name}[/bold]: {row.config}. Source: {row.source}.", highlight=False)
        if notes and row.note:
            console.print(f"  note: {row.note}", highlight=False)
    misses = [row.name for row in rows if not row.within_tolerance]
    if misses:
        console.print(f"Outside {TOLERANCE:.0%} of the published count: {', '.join(misses)} (see the notes).")
    else:
        console.print(f"All counts within {TOLERANCE:.0%} of the published ones.")
