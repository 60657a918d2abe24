"""Hugging Face checkpoints of real sizes in seqlab against transformers: load time, forward time, largest difference.

For GPT-2 small, BERT-base and T5-small (random weights, seeded: the shapes are the released models'),
saves transformers' model with ``save_pretrained``, loads the folder with ``seqlab.models.load_pretrained``
and with transformers' ``from_pretrained``, and runs both on the same batch of token ids. Reports CPU
seconds (``time.process_time``, one thread by default) and the largest difference of the outputs relative
to their largest entry, in float32 and float64.

    python benchmarks/huggingface.py [--batch 4] [--length 64] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

# benchmarks/tokenizers.py would shadow the tokenizers package transformers imports: keep this folder off the path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402
import transformers  # noqa: E402

from seqlab.models.huggingface import load_pretrained  # noqa: E402

MODELS = {  # name: (transformers class, its config)
    "GPT-2 small": ("GPT2LMHeadModel", transformers.GPT2Config()),
    "BERT-base": ("BertForMaskedLM", transformers.BertConfig()),
    "T5-small": ("T5ForConditionalGeneration", transformers.T5Config(decoder_start_token_id=0)),
}


def cpu_seconds(fn, repeats: int) -> tuple[float, object]:
    """The fastest of ``repeats`` calls, in CPU seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def seqlab_logits(name: str, model, ids: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if name == "T5-small":
        return model(ids, None, target)
    return model(ids)[0] if name == "BERT-base" else model(ids)


def transformers_logits(name: str, model, ids: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (model(input_ids=ids, decoder_input_ids=target) if name == "T5-small" else model(ids)).logits


def run(name: str, folder: Path, args) -> None:
    architecture, config = MODELS[name]
    torch.manual_seed(0)
    getattr(transformers, architecture)(config).save_pretrained(folder)
    ids = torch.randint(config.vocab_size, (args.batch, args.length), generator=torch.Generator().manual_seed(1))
    target = ids[:, : args.length // 2]  # T5's decoder input
    for dtype in (torch.float32, torch.float64):
        load_ours, ours = cpu_seconds(partial(load_pretrained, folder, dtype=dtype), 1)
        load_theirs, theirs = cpu_seconds(partial(getattr(transformers, architecture).from_pretrained, folder,
                                                  dtype=dtype), 1)
        theirs.eval()
        with torch.no_grad():
            time_ours, out_ours = cpu_seconds(partial(seqlab_logits, name, ours.model, ids, target), args.repeats)
            time_theirs, out_theirs = cpu_seconds(partial(transformers_logits, name, theirs, ids, target),
                                                  args.repeats)
        error = ((out_ours - out_theirs).abs().max() / out_theirs.abs().max()).item()
        print(f"{name:12} {str(dtype).split('.')[-1]:8} {load_ours:9.2f} {load_theirs:9.2f} {time_ours:9.3f} "
              f"{time_theirs:9.3f} {time_ours / time_theirs:7.2f} {error:11.1e}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    print(f"batch {args.batch} x {args.length} tokens, {args.threads} thread(s), CPU seconds (best of {args.repeats})")
    print(f"{'model':12} {'dtype':8} {'load ours':>9} {'load hf':>9} {'fwd ours':>9} {'fwd hf':>9} {'ratio':>7} "
          f"{'rel error*':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            run(name, Path(tmp) / name.replace(" ", "-"), args)
    print("* max |seqlab - transformers| / max |transformers| over the output logits")


if __name__ == "__main__":
    main()
