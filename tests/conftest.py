"""Shared fixtures: the real datasets, found through SEQLAB_DATA_DIR; tiny random Hugging Face checkpoints,
built offline from configs with transformers and saved once per session."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch


def _data_dir() -> Path | None:
    value = os.environ.get("SEQLAB_DATA_DIR")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real datasets (../shared/data in CI).

    Skips when SEQLAB_DATA_DIR is unset on a user's machine; under CI=true a missing
    dataset folder is a failure, never a skip.
    """
    path = _data_dir()
    if path is None or not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"SEQLAB_DATA_DIR must point to the shared datasets under CI (got {path})")
        pytest.skip("SEQLAB_DATA_DIR is not set: the real datasets are not available here")
    return path


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    torch.manual_seed(0)
    yield


# -- tiny Hugging Face checkpoints ----------------------------------------------------------------

VOCAB = ["[PAD]", "[EOS]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog",
         "ran", "to", "park", "and", "it", "was", "happy", "in", "sun", ".", ",", "big", "small", "red", "blue",
         "tree", "house", "bird", "sang", "song", "all", "day", "night", "moon", "rose", "over", "hill"]
PAD, EOS, UNK, CLS, SEP = 0, 1, 2, 3, 4
V = len(VOCAB)  # 40

# architecture -> (transformers class name, config class name, config fields)
GPT2 = {"vocab_size": V, "n_positions": 32, "n_embd": 16, "n_layer": 2, "n_head": 2, "bos_token_id": CLS,
        "eos_token_id": EOS, "pad_token_id": EOS, "initializer_range": 0.3}
BERT = {"vocab_size": V, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 32, "max_position_embeddings": 32, "pad_token_id": PAD}
T5 = {"vocab_size": V, "d_model": 16, "d_kv": 4, "d_ff": 32, "num_layers": 2, "num_decoder_layers": 3,
      "num_heads": 2, "pad_token_id": PAD, "eos_token_id": EOS, "decoder_start_token_id": PAD,
      "initializer_factor": 2.0, "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16}
RECIPES = {
    "gpt2": ("GPT2LMHeadModel", "GPT2Config", GPT2),
    "gpt2-bare": ("GPT2Model", "GPT2Config", GPT2),
    "bert": ("BertModel", "BertConfig", BERT),
    "bert-mlm": ("BertForMaskedLM", "BertConfig", BERT),
    "bert-pretraining": ("BertForPreTraining", "BertConfig", BERT),
    "bert-classifier": ("BertForSequenceClassification", "BertConfig", {**BERT, "num_labels": 3}),
    "t5": ("T5ForConditionalGeneration", "T5Config", T5),
    "t5-gated": ("T5ForConditionalGeneration", "T5Config", {**T5, "feed_forward_proj": "gated-gelu",
                                                            "tie_word_embeddings": False}),
    "t5-encoder": ("T5EncoderModel", "T5Config", T5),
}


@pytest.fixture(scope="session")
def transformers():
    """transformers, quiet: its logger's warnings and progress bars off for the session, restored after."""
    import transformers as tf  # a peer we compare against (the `test` extra), imported only by these tests

    verbosity = tf.logging.get_verbosity()
    bars = tf.utils.logging.is_progress_bar_enabled()
    tf.logging.set_verbosity_error()
    tf.utils.logging.disable_progress_bar()
    yield tf
    tf.logging.set_verbosity(verbosity)
    if bars:
        tf.utils.logging.enable_progress_bar()


def word_tokenizer(bert_template: bool):
    """A word-level tokenizer.json over VOCAB, built with the ``tokenizers`` package."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tokenizer = Tokenizer(models.WordLevel({token: i for i, token in enumerate(VOCAB)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(VOCAB[:6])
    if bert_template:
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)])
    return tokenizer


@pytest.fixture(scope="session")
def hf_reference(transformers) -> Callable[[str], torch.nn.Module]:
    """The transformers model of a recipe, seeded, in eval mode (float32, as transformers builds it)."""
    made: dict[str, torch.nn.Module] = {}

    def make(name: str) -> torch.nn.Module:
        if name not in made:
            architecture, config_class, fields = RECIPES[name]
            torch.manual_seed(sorted(RECIPES).index(name))
            model = getattr(transformers, architecture)(getattr(transformers, config_class)(**fields))
            if name == "t5-gated":  # T5 1.1 / Flan-T5: an output layer of its own (its EOS row large enough
                head = torch.randn(V, T5["d_model"])  # that some outputs end before the length limit)
                head[EOS] *= 2.0
                model.lm_head.weight = torch.nn.Parameter(head)
            made[name] = model.eval()
        return made[name]

    return make


@pytest.fixture(scope="session")
def hf_folder(hf_reference, tmp_path_factory) -> Callable[[str], Path]:
    """A recipe saved with transformers' ``save_pretrained``, with a word-level tokenizer.json."""
    saved: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in saved:
            folder = tmp_path_factory.mktemp(name)
            hf_reference(name).save_pretrained(folder)
            word_tokenizer(bert_template=name.startswith("bert")).save(str(folder / "tokenizer.json"))
            saved[name] = folder
        return saved[name]

    return make


@pytest.fixture
def cli(capsys) -> Callable[..., tuple[int, str]]:
    """``cli(*args)`` runs seqlab's command line in this process: (exit code, stdout and stderr)."""
    from seqlab.cli.app import main

    def run(*args) -> tuple[int, str]:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as stop:
            code = stop.code or 0
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run
