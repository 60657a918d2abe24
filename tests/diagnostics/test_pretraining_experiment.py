"""The pre-training experiment at tiny size: every arm runs from the shipped configs, the pretrained arms start
from the runs they name, and the table, JSON and figure say what was measured."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.diagnostics.pretraining import PretrainingExperimentConfig, run_pretraining_experiment, steps_to_reach
from seqlab.errors import SeqlabError
from seqlab.training.runner import load_run

POSITIVE = ["a gorgeous witty film", "great fun and moving", "a wonderful moving story", "witty great and gorgeous"]
NEGATIVE = ["a dull tedious mess", "boring and flat", "a tedious boring film", "flat dull and lifeless"]
QUIET = ["fit.plots=false", "model.dropout=0.0"]


@pytest.fixture
def files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = load_tiny_shakespeare()
    (corpus / "a.txt").write_text((text[:1500] + "\n\n") * 6, encoding="utf-8")
    (corpus / "b.txt").write_text((text[5000:6500] + "\n\n") * 6, encoding="utf-8")
    rows = [{"text": t, "label": "pos"} for t in POSITIVE * 4] + [{"text": t, "label": "neg"} for t in NEGATIVE * 4]
    reviews = tmp_path / "reviews.jsonl"
    reviews.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return corpus, reviews


def test_a_tiny_pretraining_experiment_runs_every_arm_and_reports(files, tmp_path):
    corpus, reviews = files
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = PretrainingExperimentConfig(
            mlm_steps=12, gpt_steps=12, vectors_corpus=str(corpus), vectors_dim=16, vectors_epochs=1,
            sentiment_epochs=2, finetune_steps=10,
            mlm_overrides=[*QUIET, f"data.path={corpus}", "data.vocab_size=200", "data.block_size=32",
                           "data.batch_size=8", "model.num_layers=1", "model.num_heads=2", "model.hidden_size=32",
                           "model.intermediate_size=64", "fit.eval_every=6", "fit.warmup_steps=2"],
            sentiment_overrides=[*QUIET, f"data.path={reviews}", "data.val_fraction=0.25", "data.batch_size=8",
                                 "model.hidden_size=16", "fit.warmup_steps=2"],
            bert_overrides=["model.embedding_dim=32", "model.hidden_size=64", "model.num_layers=1", "model.nhead=2",
                            "data.vocab_size=100", "data.max_length=24"],
            gpt_overrides=[*QUIET, f"data.path={corpus}", "data.vocab_size=280", "data.block_size=16",
                           "data.batch_size=8", "model.n_layer=1", "model.n_head=2", "model.n_embd=32",
                           "fit.eval_every=6", "fit.warmup_steps=2", "sample.length=5"],
            finetune_overrides=[*QUIET, "data.limit=8000", "data.batch_size=8", "fit.eval_every=5",
                                "fit.warmup_steps=2", "sample.length=5"])
        messages = []
        report = run_pretraining_experiment(config, tmp_path / "experiment", on_progress=messages.append)
    finally:
        torch.set_num_threads(threads)
    arms = report["arms"]
    assert set(arms) == {"bert_scratch", "bert_control", "bert_pretrained", "bigru", "bigru_w2v", "gpt_scratch",
                         "gpt_pretrained"}
    assert len(messages) == 10  # three sources made, seven arms
    sentiment = {name: a for name, a in arms.items() if a["kind"] == "sentiment"}
    assert len({a["steps"] for a in sentiment.values()}) == 1  # the same budget: 2 epochs of the same batches
    assert all(0.0 <= a["value"] <= 1.0 for a in sentiment.values())
    # the pretrained arms were built from the sources the experiment made
    experiment = tmp_path / "experiment"
    pretrained = load_run(experiment / "bert_pretrained")
    assert pretrained.config.model.pretrained == str(experiment / "mlm")
    assert pretrained.tokenizer.get_vocab() == load_run(experiment / "mlm").tokenizer.get_vocab()
    assert load_run(experiment / "bigru_w2v").config.model.vectors == str(experiment / "vectors.txt")
    scratch, tuned = arms["gpt_scratch"], arms["gpt_pretrained"]
    assert scratch["steps"] == tuned["steps"] == 10 and scratch["parameters"] == tuned["parameters"]
    assert tuned["curve"]["steps"] == [5, 10]
    summary = report["summary"]
    assert summary["bert_gain_points"] == pytest.approx(100 * (arms["bert_pretrained"]["value"] -
                                                               arms["bert_scratch"]["value"]))
    assert summary["gpt_steps_to_scratch_loss"] == steps_to_reach(tuned["curve"], scratch["value"])
    written = json.loads((experiment / "pretraining.json").read_text(encoding="utf-8"))
    assert written["summary"] == pytest.approx(summary)
    table = (experiment / "pretraining.md").read_text(encoding="utf-8")
    assert all(f"| {name} |" in table for name in arms) and "Fine-tuned BERT" in table
    assert (experiment / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_steps_to_reach_is_the_first_evaluation_at_or_below_the_target():
    curve = {"steps": [5, 10, 15], "values": [3.0, 2.0, 2.5]}
    assert steps_to_reach(curve, 2.0) == 10 and steps_to_reach(curve, 1.0) is None


def test_the_experiment_checks_its_config_before_any_work(tmp_path):
    with pytest.raises(SeqlabError, match="parts: expected some of bert, bigru, gpt, got bart"):
        run_pretraining_experiment(PretrainingExperimentConfig(parts=("bart",)), tmp_path)
    with pytest.raises(SeqlabError, match=r"mlm_run: .* does not exist"):
        run_pretraining_experiment(PretrainingExperimentConfig(mlm_run=str(tmp_path / "none")), tmp_path)
