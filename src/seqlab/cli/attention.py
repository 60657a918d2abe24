"""``seqlab attention``: the self-attention maps of a Hugging Face checkpoint on a text, as PNG figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def attention(
    text: Annotated[str, typer.Argument(help="The text to run the model on (tokenized with the folder's "
                                             "tokenizer.json).")],
    model: Annotated[Path, typer.Option(help="A Hugging Face model folder (GPT-2, BERT or T5): config.json, "
                                             "model.safetensors, tokenizer.json.")],
    layer: Annotated[int | None, typer.Option(help="Only this layer (0 is the first, -1 the last); "
                                                   "default: every layer.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the figures.")] = Path("attention"),
) -> None:
    """Draw every head's attention weights, layer by layer, for a text (BERT and T5: encoder self-attention;
    GPT-2: causal self-attention).

    Examples:

        seqlab attention --model checkpoints/bert-base-uncased "The cat sat on the mat."

        seqlab attention --model checkpoints/gpt2 "The cat sat on the mat." --layer -1 --out figures
    """
    from seqlab.models.huggingface import attention_maps, load_pretrained
    from seqlab.plots.attention import attention_figures

    maps = attention_maps(load_pretrained(model), text)
    paths = attention_figures(maps.weights, maps.tokens, out, layer=layer, title=f"{model.name}: {maps.kind}")
    console = Console(highlight=False)
    console.print(f"{maps.architecture}, {maps.num_layers} layers x {maps.num_heads} heads, "
                  f"{len(maps.tokens)} tokens: {' '.join(maps.tokens)}", markup=False, soft_wrap=True)
    for path in paths:
        console.print(f"wrote {path}", markup=False, soft_wrap=True)
