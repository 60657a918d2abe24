"""Does pre-training help? The same classifiers and language models, from scratch and from pretrained weights.

Every arm is a run of ``seqlab train`` built from a shipped config, with the same seed and the same
budget (steps or epochs, never seconds, so the result repeats):

sentiment (sentence polarity, held-out accuracy; configs ``sentiment_bert``, ``sentiment``, ``sentiment_w2v``)
    bert_scratch       the BERT from random weights, with a WordPiece trained on the training split
    bert_control       the MLM run's sizes and tokenizer, random weights (``model.pretrained_weights=false``)
    bert_pretrained    the MLM run's encoder and tokenizer (``model.pretrained=MLM``)
    bigru              seqlab's BiGRU over randomly initialised word embeddings
    bigru_w2v          the same, its embedding started from seqlab word2vec vectors

language model (Tiny Shakespeare, validation loss; config ``gpt_shakespeare_finetune``)
    gpt_scratch        the Gutenberg GPT's model and BPE tokenizer, random weights
    gpt_pretrained     the Gutenberg GPT's weights, continued

The MLM run (``--config bert_mlm``), the Gutenberg GPT (``--config gpt_gutenberg``) and the word
vectors are given, or made first at the configured budget. The two language-model arms share
one tokenizer, so their losses (nats per token) compare. The summary: for BERT, the pretrained
arm's accuracy minus the scratch arm's; for GPT, the first evaluated step at which the pretrained
arm reaches the scratch arm's final validation loss, as a share of the budget.

Writes ``pretraining.json``, ``pretraining.md`` and ``curves.png`` (validation accuracy and
validation loss per step, one line per arm) into the run folder; each arm's run folder is inside it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.checks import integer
from seqlab.data.documents import read_documents
from seqlab.embeddings.corpus import tokenize_words
from seqlab.embeddings.formats import save_vectors
from seqlab.embeddings.word2vec import Word2VecConfig, train_word2vec
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic
from seqlab.plots._figure import new_figure, save_png
from seqlab.training.run_config import load_run_config, resolve_config_file
from seqlab.training.runner import RunResult, train

log = logging.getLogger(__name__)

SENTIMENT_ARMS = ("bert_scratch", "bert_control", "bert_pretrained", "bigru", "bigru_w2v")
LANGUAGE_MODEL_ARMS = ("gpt_scratch", "gpt_pretrained")
PARTS = ("bert", "bigru", "gpt")


@dataclass
class PretrainingExperimentConfig:
    """What runs, from what, at which budget. ``*_overrides`` are ``key=value`` lists applied to every run of
    that kind (tests shrink the sizes and point ``data.path`` at small files with them)."""

    parts: tuple[str, ...] = PARTS  # bert (the three BERT arms), bigru (with and without vectors), gpt
    mlm_run: str | None = None  # an mlm run; None: train one (--config bert_mlm) for mlm_steps
    mlm_steps: int = 1000
    gpt_run: str | None = None  # an lm run on Gutenberg; None: train one (--config gpt_gutenberg) for gpt_steps
    gpt_steps: int = 1500
    vectors: str | None = None  # a word-vector file; None: seqlab word2vec on vectors_corpus
    vectors_corpus: str | None = None  # a text file or folder; None: the Gutenberg texts (+ The Time Machine)
    vectors_dim: int = 128  # the sentiment configs' embedding width
    vectors_epochs: int = 3
    sentiment_epochs: int = 3  # every sentiment arm
    finetune_steps: int = 500  # both language-model arms
    seed: int = 0
    mlm_overrides: list[str] = field(default_factory=list)
    sentiment_overrides: list[str] = field(default_factory=list)
    bert_overrides: list[str] = field(default_factory=list)  # the BERT sentiment arms only
    gpt_overrides: list[str] = field(default_factory=list)  # the Gutenberg GPT's pre-training
    finetune_overrides: list[str] = field(default_factory=list)  # the Tiny Shakespeare arms

    def validate(self) -> None:
        unknown = [p for p in self.parts if p not in PARTS]
        if unknown or not self.parts:
            raise SeqlabError(f"parts: expected some of {', '.join(PARTS)}, got {', '.join(self.parts) or 'none'}")
        for name in ("mlm_steps", "gpt_steps", "vectors_dim", "vectors_epochs", "sentiment_epochs",
                     "finetune_steps"):
            integer(getattr(self, name), name, low=1)
        integer(self.seed, "seed")
        for name, path in (("mlm_run", self.mlm_run), ("gpt_run", self.gpt_run), ("vectors", self.vectors)):
            if path is not None and not Path(path).exists():
                raise SeqlabError(f"{name}: {path} does not exist")


def _config(task: str, shipped: str, overrides: list[str]):
    return load_run_config(task, resolve_config_file(shipped), overrides)


def _curve(result: RunResult, metric: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[f"val_{metric}"]) for r in result.history.evaluations if f"val_{metric}" in r]
    return [s for s, _ in points], [v for _, v in points]


def train_vectors(config: PretrainingExperimentConfig, path: Path) -> Path:
    """seqlab word2vec (skip-gram, gensim's defaults) on ``vectors_corpus``, lower-cased words, saved to ``path``."""
    corpus = ("gutenberg", "timemachine")
    words = [w for d in read_documents(config.vectors_corpus, corpus) for w in tokenize_words(d.text.lower())]
    if not words:
        raise SeqlabError(f"vectors_corpus: {config.vectors_corpus}: expected text, found no words")
    chunks = [words[i: i + 1000] for i in range(0, len(words), 1000)]  # word2vec.c's 1000-word sentences
    min_count = 5 if len(words) > 100_000 else 1
    result = train_word2vec(chunks, Word2VecConfig(vector_size=config.vectors_dim, epochs=config.vectors_epochs,
                                                   min_count=min_count, seed=config.seed + 1))
    save_vectors(result.vectors, path, "word2vec")
    log.info("word2vec: %d words x %d from %d tokens", len(result.vectors), config.vectors_dim, len(words))
    return path


def run_pretraining_experiment(config: PretrainingExperimentConfig, run_dir: str | Path,
                               on_progress: Callable[[str], None] | None = None) -> dict:
    """Train every arm of ``config.parts`` into ``run_dir``; the report (also written as JSON and markdown)."""
    config.validate()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    say = on_progress or (lambda message: log.info("%s", message))
    seed = f"fit.seed={config.seed}"
    arms: dict[str, dict] = {}
    results: dict[str, RunResult] = {}

    def arm(name: str, kind: str, metric: str, run_config, description: str) -> None:
        say(f"{name}: {description}")
        result = train(run_config, run_dir / name)
        results[name] = result
        arms[name] = {"kind": kind, "description": description, "metric": metric,
                      "value": result.history.evaluations[-1][f"val_{metric}"], "best": result.best_metrics[metric],
                      "steps": result.history.steps, "seconds": result.history.seconds,
                      "parameters": result.parameters, "curve": dict(zip(("steps", "values"), _curve(result, metric)))}

    epochs = f"fit.epochs={config.sentiment_epochs}"
    sentiment = [seed, epochs, "fit.max_steps=null", "fit.max_seconds=null", *config.sentiment_overrides]
    sources: dict[str, str] = {}
    if "bert" in config.parts:
        mlm_run = config.mlm_run
        if mlm_run is None:
            say(f"pre-training a BERT by masked-language modelling for {config.mlm_steps} steps (--config bert_mlm)")
            mlm_run = str(run_dir / "mlm")
            train(_config("mlm", "bert_mlm", [seed, f"fit.max_steps={config.mlm_steps}", *config.mlm_overrides]),
                  mlm_run)
        sources["mlm_run"] = mlm_run
        bert = [*sentiment, *config.bert_overrides]
        arm("bert_scratch", "sentiment", "accuracy", _config("sentiment", "sentiment_bert", bert),
            "BERT from random weights, its own WordPiece")
        arm("bert_control", "sentiment", "accuracy",
            _config("sentiment", "sentiment_bert", [*bert, f"model.pretrained={mlm_run}",
                                                    "model.pretrained_weights=false"]),
            "the MLM run's sizes and WordPiece, random weights")
        arm("bert_pretrained", "sentiment", "accuracy",
            _config("sentiment", "sentiment_bert", [*bert, f"model.pretrained={mlm_run}"]),
            "the MLM run's encoder, fine-tuned")
    if "bigru" in config.parts:
        vectors = config.vectors
        if vectors is None:
            say(f"word2vec on {config.vectors_corpus or 'the Gutenberg texts'} ({config.vectors_epochs} epochs)")
            vectors = str(train_vectors(config, run_dir / "vectors.txt"))
        sources["vectors"] = vectors
        gru = [*sentiment, f"model.embedding_dim={config.vectors_dim}"]
        arm("bigru", "sentiment", "accuracy", _config("sentiment", "sentiment", gru), "BiGRU, random embedding")
        arm("bigru_w2v", "sentiment", "accuracy",
            _config("sentiment", "sentiment_w2v", [*gru, f"model.vectors={vectors}"]),
            "BiGRU, embedding from seqlab word2vec")
    if "gpt" in config.parts:
        gpt_run = config.gpt_run
        if gpt_run is None:
            say(f"pre-training a GPT on Gutenberg for {config.gpt_steps} steps (--config gpt_gutenberg)")
            gpt_run = str(run_dir / "gpt_gutenberg")
            train(_config("lm", "gpt_gutenberg", [f"fit.max_steps={config.gpt_steps}", *config.gpt_overrides]),
                  gpt_run)
        sources["gpt_run"] = gpt_run
        tuned = [seed, f"fit.max_steps={config.finetune_steps}", "fit.max_seconds=null", *config.finetune_overrides,
                 f"model.pretrained={gpt_run}"]
        arm("gpt_scratch", "language_model", "loss",
            _config("lm", "gpt_shakespeare_finetune", [*tuned, "model.pretrained_weights=false"]),
            "Tiny Shakespeare, the Gutenberg GPT's model and BPE, random weights")
        arm("gpt_pretrained", "language_model", "loss", _config("lm", "gpt_shakespeare_finetune", tuned),
            "Tiny Shakespeare, continued from the Gutenberg GPT")
    report = {"config": dataclasses.asdict(config), "sources": sources, "arms": arms, "summary": summarize(arms)}
    write_json_atomic(run_dir / "pretraining.json", report)
    write_text_atomic(run_dir / "pretraining.md", pretraining_markdown(report))
    curves_figure(arms, run_dir / "curves.png")
    return report


def steps_to_reach(curve: dict, target: float) -> int | None:
    """The first evaluated step whose validation loss is at most ``target`` (None: never)."""
    return next((step for step, value in zip(curve["steps"], curve["values"]) if value <= target), None)


def summarize(arms: dict[str, dict]) -> dict:
    """What pre-training brought: accuracy points (BERT, word vectors), the share of steps saved (GPT)."""
    summary = {}
    if {"bert_scratch", "bert_pretrained"} <= arms.keys():
        gain = 100 * (arms["bert_pretrained"]["value"] - arms["bert_scratch"]["value"])
        summary["bert_gain_points"] = gain
        summary["bert_gain_over_control_points"] = 100 * (arms["bert_pretrained"]["value"] -
                                                          arms["bert_control"]["value"])
        summary["bert_target_met"] = gain >= 2.0  # the target: 2 points above the same BERT from scratch
    if {"bigru", "bigru_w2v"} <= arms.keys():
        summary["w2v_gain_points"] = 100 * (arms["bigru_w2v"]["value"] - arms["bigru"]["value"])
    if {"gpt_scratch", "gpt_pretrained"} <= arms.keys():
        target = arms["gpt_scratch"]["value"]
        reached = steps_to_reach(arms["gpt_pretrained"]["curve"], target)
        budget = arms["gpt_scratch"]["steps"]
        summary.update(gpt_scratch_final_loss=target, gpt_pretrained_final_loss=arms["gpt_pretrained"]["value"],
                       gpt_steps_to_scratch_loss=reached,
                       gpt_step_share=None if reached is None else reached / budget,
                       gpt_target_met=reached is not None and reached <= budget / 2)
    return summary


def pretraining_markdown(report: dict) -> str:
    config, summary = report["config"], report["summary"]
    lines = ["# Pre-training, then fine-tuning", "",
             f"Seed {config['seed']}; sentiment arms {config['sentiment_epochs']} epochs each, language-model arms "
             f"{config['finetune_steps']} steps each. Sources: " +
             (", ".join(f"{k} `{v}`" for k, v in report["sources"].items()) or "none"), "",
             "| arm | what | metric | final | best | steps | parameters |", "|---|---|---|---:|---:|---:|---:|"]
    for name, a in report["arms"].items():
        lines.append(f"| {name} | {a['description']} | val {a['metric']} | {a['value']:.4f} | {a['best']:.4f} | "
                     f"{a['steps']} | {a['parameters']:,} |")
    lines.append("")
    if "bert_gain_points" in summary:
        lines.append(f"- Fine-tuned BERT vs the same BERT from scratch: {summary['bert_gain_points']:+.1f} points "
                     f"(vs the control with the MLM tokenizer: {summary['bert_gain_over_control_points']:+.1f}); "
                     f"target +2: {'met' if summary['bert_target_met'] else 'not met'}.")
    if "w2v_gain_points" in summary:
        lines.append(f"- BiGRU with seqlab word2vec vs random embedding: {summary['w2v_gain_points']:+.1f} points.")
    if "gpt_step_share" in summary:
        reached = summary["gpt_steps_to_scratch_loss"]
        lines.append(f"- Tiny Shakespeare: from scratch {summary['gpt_scratch_final_loss']:.3f} nats/token after "
                     f"{config['finetune_steps']} steps; from the Gutenberg GPT "
                     f"{summary['gpt_pretrained_final_loss']:.3f}, reaching the scratch loss "
                     + ("never" if reached is None else f"at step {reached} ({summary['gpt_step_share']:.0%})")
                     + f"; target at most half the steps: {'met' if summary['gpt_target_met'] else 'not met'}.")
    return "\n".join(lines) + "\n"


def curves_figure(arms: dict[str, dict], path: Path) -> None:
    """Validation accuracy (sentiment arms) and validation loss (language-model arms) against the step."""
    kinds = [k for k in ("sentiment", "language_model") if any(a["kind"] == k for a in arms.values())]
    figure = new_figure(width=6.0 * max(len(kinds), 1), height=4.5)
    for index, kind in enumerate(kinds):
        axes = figure.add_subplot(1, len(kinds), index + 1)
        for name, a in arms.items():
            if a["kind"] == kind:
                axes.plot(a["curve"]["steps"], a["curve"]["values"], label=name, marker="o", markersize=2.5)
        axes.set_xlabel("optimisation step")
        axes.set_ylabel("validation accuracy" if kind == "sentiment" else "validation loss (nats/token)")
        axes.set_title("sentence polarity" if kind == "sentiment" else "Tiny Shakespeare")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    save_png(figure, path)


__all__ = ["LANGUAGE_MODEL_ARMS", "PARTS", "SENTIMENT_ARMS", "PretrainingExperimentConfig", "curves_figure",
           "pretraining_markdown", "run_pretraining_experiment", "steps_to_reach", "summarize", "train_vectors"]
