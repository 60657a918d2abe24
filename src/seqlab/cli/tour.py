"""The guided tour that ``seqlab demo`` (and ``make demo``) runs: the curriculum's applications, on bundled data.

In about ten minutes on two CPU cores it trains and uses real models on real data, every one of
them through the runner a user's ``seqlab train`` uses (``seqlab.training.runner``):

1. a character-level LSTM language model on Tiny Shakespeare, sampled;
2. the gradient flow through time of a vanilla RNN, an LSTM and a GRU at initialisation;
3. a BiGRU sentiment classifier on the sentence-polarity data, tried on a few sentences;
4. an LSTM forecast of the airline passengers beside the seasonal-naive and SARIMA baselines;
5. an attention GRU translating short English sentences into French, with one alignment map.

Every budget is a number of steps or epochs and every run is seeded, so the tour prints the same
figures on every machine (within float noise); a slower machine takes longer, it does not learn
less. Each section is a run folder inside the tour's folder (``lm/``, ``sentiment/``, ...);
``report.md`` and a self-contained ``report.html`` (figures embedded) sum the tour up. The data
are the package's bundled copies (``seqlab/data/bundled/ATTRIBUTION.md``): no network, no
``SEQLAB_DATA_DIR``. The sections keep their best checkpoints, not the resumable last ones.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from seqlab.checks import integer
from seqlab.data.corpora import bundled_path
from seqlab.diagnostics.compare_flow import gradient_flow_figure
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic
from seqlab.plots._figure import new_figure, save_png
from seqlab.plots.attention import attention_map_figure
from seqlab.plots.curves import learning_curves_figure
from seqlab.training.fit import Callback
from seqlab.training.run_config import load_run_config
from seqlab.training.run_folder import LAST
from seqlab.training.runner import RunResult, load_run, train
from seqlab.training.tasks.translation import TARGET_TOKENIZER, words

log = logging.getLogger(__name__)

SECTIONS = ("lm", "gradients", "sentiment", "forecast", "translation")
TITLES = {"lm": "Character-level language model", "gradients": "Gradient flow through time",
          "sentiment": "Sentiment classification", "forecast": "Time-series forecasting",
          "translation": "Machine translation with attention"}
SENTIMENT_EXAMPLES = (
    "a gripping, beautifully acted film that stays with you .",
    "the plot is thin and the jokes fall flat .",
    "not the best movie of the year , but a charming one .",
    "two hours of my life i will never get back .",
)
SENTIMENT_EXPECTED = ("pos", "neg", "pos", "neg")  # what a reader would say of each sentence
TRANSLATION_EXAMPLES = ("I am cold.", "He is tall.", "We are friends.", "Tom is eating.", "I love you.")
TRANSLATION_PAIRS = "fra-eng/fra-first-40000.txt"
EVALUATION_GAP = 100  # at least this many steps between evaluations (each reads the whole validation part)


@dataclass(frozen=True)
class TourConfig:
    """The tour's sections and budgets, in steps and epochs (the same figures on every machine)."""

    sections: tuple[str, ...] = SECTIONS
    lm_steps: int = 1000  # character LSTM on Tiny Shakespeare
    lm_cell: str = "lstm"  # lstm, gru or rnn
    sentiment_epochs: int = 6  # BiGRU on sentence polarity
    sentiment_examples: int | None = None  # use only this many reviews (None: all 10,662)
    forecast_ensemble: int = 3  # LSTM forecasters averaged on the airline series
    translation_steps: int = 800  # attention GRU, English -> French
    translation_pairs: int | None = None  # use only the first pairs of the bundled 40,000 (None: all)
    translation_test_sentences: int = 300  # held-out English sentences scored by BLEU
    seed: int = 1337

    def __post_init__(self) -> None:
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown or not self.sections:
            raise SeqlabError(f"sections: expected some of {', '.join(SECTIONS)}, got {', '.join(self.sections)}")
        for name in ("lm_steps", "sentiment_epochs", "forecast_ensemble", "translation_steps",
                     "translation_test_sentences"):
            integer(getattr(self, name), name, low=1)
        if self.lm_cell not in ("lstm", "gru", "rnn"):
            raise SeqlabError(f"cell: expected one of rnn, lstm, gru, got {self.lm_cell!r}")


@dataclass
class Section:
    """One part of the report: a title, markdown text, figures (caption, path) and the figures behind them."""

    key: str
    title: str
    text: str
    figures: list[tuple[str, Path]] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0


# -- the sections ---------------------------------------------------------------------------------

def language_model_section(folder: Path, config: TourConfig, callbacks: Sequence[Callback]) -> Section:
    steps = config.lm_steps
    run_config = load_run_config("lm", "char_lstm", [
        f"model.arch={config.lm_cell}", f"fit.max_steps={steps}", "fit.max_seconds=null",
        f"fit.eval_every={max(EVALUATION_GAP, steps // 4)}", f"fit.warmup_steps={min(100, steps // 10)}",
        f"fit.seed={config.seed}", f"sample.seed={config.seed}", "sample.prompt=ROMEO:"])
    result = _train(run_config, folder, callbacks)
    vocabulary = result.state["vocab_size"]
    uniform = math.log(vocabulary)
    evaluations = result.history.evaluations
    figure = folder / "learning_curve.png"
    learning_curves_figure({"validation": ([r["step"] for r in evaluations], [r["val_loss"] for r in evaluations])},
                           figure, baseline=uniform, baseline_label=f"uniform guess ln({vocabulary})",
                           title="Character LSTM on Tiny Shakespeare", ylabel="nats per character", log_y=False)
    loss = result.results["loss"]
    metrics = {"val_loss": loss, "bits_per_char": loss / math.log(2), "uniform_loss": uniform, "steps": steps,
               "parameters": result.parameters, "sample": result.sample}
    body = (f"A {run_config.model.num_layers}-layer {config.lm_cell.upper()} ({result.parameters:,} parameters) "
            f"trained for {steps:,} steps on the first 90% of Tiny Shakespeare. Validation loss "
            f"**{loss:.3f} nats/char** ({metrics['bits_per_char']:.2f} bits), against ln({vocabulary}) = "
            f"{uniform:.2f} for a uniform guess.\n\n"
            f"Sample ({run_config.sample.length} characters after \"ROMEO:\", temperature "
            f"{run_config.sample.temperature}):\n\n```\n{result.sample}\n```\n")
    return Section("lm", TITLES["lm"], body, [("Validation loss", figure)], metrics)


def gradient_section(folder: Path, config: TourConfig, callbacks: Sequence[Callback]) -> Section:
    figure = folder / "gradient_flow.png"
    summary = gradient_flow_figure(figure, seed=config.seed)
    write_json_atomic(folder / "gradient_flow.json", summary)
    rows = ["| cell | ‖dL/dh_0‖ / ‖dL/dh_T-1‖ |", "|---|---|"]
    for cell, values in summary["cells"].items():
        ratio = values.get("grad_ratio") if isinstance(values, dict) else None
        rows.append(f"| {cell} | {_fmt(ratio)} |")
    body = (f"The norm of the gradient of a loss at the last of T = {summary['T']} steps with respect to "
            f"each hidden state h_t, at initialisation (hidden size {summary['hidden_size']}). What survives "
            "the trip back to the first step:\n\n" + "\n".join(rows) + "\n")
    return Section("gradients", TITLES["gradients"], body, [("‖dL/dh_t‖ against t", figure)],
                   {"cells": summary["cells"]})


def sentiment_section(folder: Path, config: TourConfig, callbacks: Sequence[Callback]) -> Section:
    overrides = [f"data.path={bundled_path('sentence_polarity')}", f"fit.epochs={config.sentiment_epochs}",
                 "fit.max_seconds=null", f"fit.seed={config.seed % 1000}"]
    if config.sentiment_examples is not None:
        overrides.append(f"data.limit={config.sentiment_examples}")
    result = _train(load_run_config("sentiment", "sentiment", overrides), folder, callbacks)
    run = load_run(folder)
    predictions = run.recipe.classify(run, SENTIMENT_EXAMPLES)
    right = [label == expected for (label, _), expected in zip(predictions, SENTIMENT_EXPECTED, strict=True)]
    rows = ["| sentence | label | probability | a reader says |", "|---|---|---|---|"]
    rows += [f"| {text} | {label} | {p:.2f} | {expected} |"
             for text, (label, p), expected in zip(SENTIMENT_EXAMPLES, predictions, SENTIMENT_EXPECTED, strict=True)]
    accuracy = result.results.get("accuracy", float("nan"))
    verdict = "It labels all four as a reader would." if all(right) else \
        f"It gets {len(right) - sum(right)} of the four wrong: {accuracy:.0%} accuracy still means mistakes."
    body = (f"A bidirectional GRU over word embeddings ({result.parameters:,} parameters), trained for "
            f"{config.sentiment_epochs} epochs on 90% of Pang and Lee's movie-review snippets. Held-out accuracy "
            f"**{accuracy:.1%}** (Kim 2014 reports 76.1% for a CNN with random embeddings, 10-fold). {verdict}\n\n"
            + "\n".join(rows) + "\n")
    figures = [("Learning curves", folder / "curves.png")] if (folder / "curves.png").is_file() else []
    return Section("sentiment", TITLES["sentiment"], body, figures,
                   {"accuracy": accuracy, "sentences": list(SENTIMENT_EXAMPLES),
                    "examples": [list(p) for p in predictions], "as_a_reader": right})


def forecast_section(folder: Path, config: TourConfig, callbacks: Sequence[Callback]) -> Section:
    run_config = load_run_config("forecast", "airline", [
        f"data.source={bundled_path('airline') / 'Airline.csv'}", "data.date_column=Date",
        f"model.ensemble={config.forecast_ensemble}", f"fit.seed={config.seed % 1000}"])
    result = _train(run_config, folder, callbacks)
    run = load_run(folder)
    backtests = run.recipe.backtest(run.model, run.config, run.state, sarima=False)["backtests"]
    figure = folder / "forecast.png"
    _forecast_figure(backtests, figure)
    scores = result.results["all_points"]
    rows = ["| method | MAPE | MASE |", "|---|---|---|"]
    for method, values in scores.items():
        rows.append(f"| {method} | {values.get('mape', float('nan')):.2f}% | {values.get('mase', float('nan')):.3f} |")
    body = (f"An ensemble of {config.forecast_ensemble} LSTM forecasters trained on the monthly airline passengers "
            f"before {run_config.data.backtest_start}, then backtested from there with a "
            f"{run_config.data.horizon}-month horizon, beside baselines computed in the same run:\n\n"
            + "\n".join(rows) + "\n")
    return Section("forecast", TITLES["forecast"], body, [("Backtest forecasts", figure)],
                   {"model": scores.get("model", {}), "metrics": scores})


def translation_section(folder: Path, config: TourConfig, callbacks: Sequence[Callback]) -> Section:
    steps = config.translation_steps
    overrides = [f"data.path={bundled_path(TRANSLATION_PAIRS)}",
                 f"data.test_sources={config.translation_test_sentences}", "data.val_sources=300", "data.min_count=2",
                 f"fit.max_steps={steps}", "fit.max_seconds=null", f"fit.eval_every={max(EVALUATION_GAP, steps // 4)}",
                 f"fit.warmup_steps={min(100, steps // 10)}", f"fit.seed={config.seed % 1000}", "beam_size=3",
                 "max_len=20"]
    if config.translation_pairs is not None:
        overrides.append(f"data.limit={config.translation_pairs}")
    result = _train(load_run_config("translate", "translate_gru", overrides), folder, callbacks)
    run = load_run(folder)
    outputs = run.recipe.translate(run, TRANSLATION_EXAMPLES)
    rows = ["| English | French (seqlab, beam 3) |", "|---|---|"]
    rows += [f"| {src} | {out} |" for src, out in zip(TRANSLATION_EXAMPLES, outputs, strict=True)]
    test = result.results
    figures = []
    figure = folder / "alignment.png"
    if _alignment_figure(run, TRANSLATION_EXAMPLES[0], outputs[0], figure):
        figures.append((f"Attention of the decoder over “{TRANSLATION_EXAMPLES[0]}” while writing “{outputs[0]}”",
                        figure))
    body = (f"A GRU encoder-decoder with Bahdanau attention ({result.parameters:,} parameters) trained for "
            f"{steps:,} steps on {test.get('train_pairs', 0):,} short Tatoeba pairs. BLEU on "
            f"{test.get('test_sentences', 0)} held-out sentences: **{test.get('bleu_greedy', float('nan')):.1f}** "
            f"greedy, {test.get('bleu_beam', float('nan')):.1f} with beam search (sacrebleu). A tour-sized run: "
            "`seqlab train translate` trains the full-size models.\n\n" + "\n".join(rows) + "\n")
    return Section("translation", TITLES["translation"], body, figures,
                   {"bleu_greedy": test.get("bleu_greedy"), "bleu_beam": test.get("bleu_beam"),
                    "examples": dict(zip(TRANSLATION_EXAMPLES, outputs, strict=True))})


RUNNERS: dict[str, Callable[[Path, TourConfig, Sequence[Callback]], Section]] = {
    "lm": language_model_section, "gradients": gradient_section, "sentiment": sentiment_section,
    "forecast": forecast_section, "translation": translation_section}


def run_tour(run_dir: str | Path, config: TourConfig = TourConfig(),
             on_section: Callable[[str, str], None] | None = None,
             callbacks_for: Callable[[str], Sequence[Callback]] | None = None,
             on_result: Callable[[Section], None] | None = None) -> list[Section]:
    """Run the tour's sections into ``run_dir`` and write ``report.md`` and ``report.html`` there.

    ``on_section(key, "start" | "done")``, ``callbacks_for(key)`` (training callbacks of a section)
    and ``on_result(section)`` let a caller show progress and results as they come.
    """
    run_dir = Path(run_dir)
    write_json_atomic(run_dir / "tour_config.json", asdict(config))
    sections = []
    for key in config.sections:
        if on_section is not None:
            on_section(key, "start")
        start = time.perf_counter()
        section = RUNNERS[key](run_dir / key, config, callbacks_for(key) if callbacks_for else ())
        section.seconds = time.perf_counter() - start
        sections.append(section)
        log.info("tour: %s done in %.1f s", key, section.seconds)
        if on_section is not None:
            on_section(key, "done")
        if on_result is not None:
            on_result(section)
        write_report(run_dir, sections)  # after every section, so an interrupted tour keeps what it did
    return sections


def _train(run_config, folder: Path, callbacks: Sequence[Callback]) -> RunResult:
    """One section's run; its resumable last checkpoint is dropped (the tour is rerun, not resumed)."""
    result = train(run_config, folder, callbacks=callbacks)
    for path in (folder / LAST, (folder / LAST).with_suffix(".json")):
        path.unlink(missing_ok=True)
    return result


# -- the report -----------------------------------------------------------------------------------

def report_markdown(sections: Sequence[Section], run_dir: Path) -> str:
    lines = ["# seqlab tour", "", f"Run folder: `{run_dir}`", ""]
    lines += ["| section | seconds |", "|---|---|"]
    lines += [f"| {s.title} | {s.seconds:.0f} |" for s in sections]
    for s in sections:
        lines += ["", f"## {s.title}", "", s.text]
        for caption, path in s.figures:
            lines += [f"![{caption}]({path.relative_to(run_dir).as_posix()})", ""]
    return "\n".join(lines) + "\n"


def report_html(sections: Sequence[Section], run_dir: Path) -> str:
    """The report as one HTML file: the markdown's content, each figure embedded as base64 PNG."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>seqlab tour</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
             "pre{background:#f5f5f5;padding:1em;white-space:pre-wrap}img{max-width:100%}</style></head><body>",
             "<h1>seqlab tour</h1>", f"<p>Run folder: <code>{html.escape(str(run_dir))}</code></p>"]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2><p><small>{s.seconds:.0f} s</small></p>")
        parts.append(markdown_to_html(s.text))
        for caption, path in s.figures:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(run_dir: Path, sections: Sequence[Section]) -> None:
    write_text_atomic(run_dir / "report.md", report_markdown(sections, run_dir))
    write_text_atomic(run_dir / "report.html", report_html(sections, run_dir))
    write_json_atomic(run_dir / "summary.json",
                      {s.key: {"seconds": round(s.seconds, 1), **_jsonable(s.metrics)} for s in sections})


def markdown_to_html(text: str) -> str:
    """The little markdown the sections write: paragraphs, **bold**, `code`, fenced blocks and tables."""
    out, table, fence = [], [], None
    for line in [*text.split("\n"), ""]:
        if fence is not None:
            if line.startswith("```"):
                out.append(f"<pre>{html.escape(chr(10).join(fence))}</pre>")
                fence = None
            else:
                fence.append(line)
            continue
        if line.startswith("```"):
            fence = []
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                table.append(cells)
            continue
        if table:
            head, *body = table
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body)
                       + "</table>")
            table = []
        if line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    return "\n".join(out)


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: v if isinstance(v, str | int | float) else str(v)))


def _fmt(value) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.2e}"


# -- figures --------------------------------------------------------------------------------------

def _forecast_figure(backtests: dict, path: Path) -> None:
    """The series, and each method's forecasts at the backtest's origins (the last step of each)."""
    figure = new_figure(8.0, 4.5)
    axes = figure.add_subplot()
    model = backtests["model"]
    horizon = model.forecasts.shape[1]
    target = model.origins + horizon - 1  # the month each origin's last forecast step lands on
    axes.plot(target, model.actuals[:, -1], color="black", linewidth=1.6, label="actual")
    for name, backtest in backtests.items():
        axes.plot(backtest.origins + horizon - 1, backtest.forecasts[:, -1], marker="o", markersize=2.5,
                  linewidth=1.0, label=name)
    axes.set_xlabel(f"month index (forecasts made {horizon} months ahead)")
    axes.set_ylabel("passengers (thousands)")
    axes.set_title("Airline passengers: backtest forecasts")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    save_png(figure, path)


def _alignment_figure(run, sentence: str, translation: str, path: Path) -> bool:
    """The attention map of the decoding shown in the table (``translation`` of ``sentence``); False without one."""
    source_tokenizer, target_tokenizer = run.tokenizer, run.tokenizers[TARGET_TOKENIZER]
    target_words = translation.split()
    if not target_words:
        return False
    src = torch.tensor([source_tokenizer.encode(sentence).ids])  # (1, S)
    tgt = target_tokenizer.encode(translation).ids  # <bos> words <eos>
    with torch.no_grad():
        _, weights = run.model(src, torch.tensor([src.shape[1]]), torch.tensor([tgt[:-1]]), need_weights=True)
    # row i is the attention paid while predicting output token i (the last one predicts the end)
    attention_map_figure(weights[0], words(source_tokenizer, sentence), [*target_words, "<eos>"], path,
                         title="Bahdanau attention")
    return True


__all__ = ["RUNNERS", "SECTIONS", "Section", "TourConfig", "markdown_to_html", "report_html", "report_markdown",
           "run_tour"]
