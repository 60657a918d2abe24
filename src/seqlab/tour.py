"""The guided tour that ``seqlab demo`` (and ``make demo``) runs: the curriculum's applications, on bundled data.

In about five minutes on two CPU cores it trains and uses real models on real data, every one of
them through the same library calls a user makes:

1. a character-level LSTM language model on Tiny Shakespeare, sampled;
2. the gradient flow through time of a vanilla RNN, an LSTM and a GRU at initialisation;
3. a BiGRU sentiment classifier on the sentence-polarity data, tried on a few sentences;
4. an LSTM forecast of the airline passengers beside the seasonal-naive baseline;
5. an attention GRU translating short English sentences into French, with one alignment map.

Each section writes its own sub-folder of the run folder; ``report.md`` and a self-contained
``report.html`` (figures embedded) sum the tour up. The data are the package's bundled copies
(see ``seqlab/data/bundled/ATTRIBUTION.md``), so the tour needs no network and no ``SEQLAB_DATA_DIR``.
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from seqlab.data.corpora import bundled_path, load_tiny_shakespeare
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

SECTIONS = ("lm", "gradients", "sentiment", "forecast", "translation")
SENTIMENT_EXAMPLES = (
    "a gripping, beautifully acted film that stays with you .",
    "the plot is thin and the jokes fall flat .",
    "not the best movie of the year , but a charming one .",
    "two hours of my life i will never get back .",
)
TRANSLATION_EXAMPLES = ("I am cold.", "He is tall.", "We are friends.", "Tom is eating.", "I love you.")


@dataclass(frozen=True)
class TourConfig:
    """Budgets of the tour's sections (seconds of training each) and what to run."""

    sections: tuple[str, ...] = SECTIONS
    lm_seconds: float = 90.0  # character LSTM on Tiny Shakespeare
    lm_steps: int = 5000  # upper bound on the language model's steps
    lm_cell: str = "lstm"  # lstm, gru or rnn
    sentiment_seconds: float = 45.0  # BiGRU on sentence polarity
    forecast_ensemble: int = 3  # LSTM forecasters averaged on the airline series
    translation_seconds: float = 75.0  # attention GRU, English -> French
    translation_test_sentences: int = 300  # held-out English sentences scored by BLEU
    seed: int = 1337

    def __post_init__(self) -> None:
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown or not self.sections:
            raise SeqlabError(f"sections: expected some of {', '.join(SECTIONS)}, got {', '.join(self.sections)}")
        for name in ("lm_seconds", "sentiment_seconds", "translation_seconds"):
            if getattr(self, name) <= 0:
                raise SeqlabError(f"{name}: expected a positive number of seconds, got {getattr(self, name)}")
        if self.lm_steps < 1:
            raise SeqlabError(f"lm_steps: expected a positive integer, got {self.lm_steps}")
        if self.lm_cell not in ("lstm", "gru", "rnn"):
            raise SeqlabError(f"cell: expected one of rnn, lstm, gru, got {self.lm_cell!r}")
        if self.forecast_ensemble < 1:
            raise SeqlabError(f"forecast_ensemble: expected an integer >= 1, got {self.forecast_ensemble}")


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

def language_model_section(folder: Path, config: TourConfig,
                           on_step: Callable[[int, dict], None] | None = None) -> Section:
    from seqlab.training.char_lm import CharLMConfig, train_char_lm

    text = load_tiny_shakespeare()
    lm_config = CharLMConfig(cell=config.lm_cell, max_seconds=config.lm_seconds, max_steps=config.lm_steps,
                             seed=config.seed)
    result = train_char_lm(text, lm_config, run_dir=folder, on_step=on_step)
    vocabulary_size = round(math.exp(result.uniform_loss))
    figure = folder / "learning_curve.png"
    _line_figure({"validation": ([r["step"] for r in result.history], [r["val_loss"] for r in result.history])},
                 figure, "step", "nats per character", "Character LSTM on Tiny Shakespeare",
                 baseline=(result.uniform_loss, f"uniform guess ln({vocabulary_size})"))
    metrics = {"val_loss": result.final_val_loss, "best_val_loss": result.best_val_loss,
               "uniform_loss": result.uniform_loss, "steps": result.steps, "parameters": result.parameters,
               "bits_per_char": result.final_val_loss / math.log(2)}
    body = (f"A {lm_config.num_layers}-layer {config.lm_cell.upper()} ({result.parameters:,} parameters) "
            f"trained for {result.steps} steps ({result.seconds:.0f} s) on the first 90% of Tiny Shakespeare. "
            f"Validation loss "
            f"**{result.final_val_loss:.3f} nats/char** ({metrics['bits_per_char']:.2f} bits), against "
            f"ln({vocabulary_size}) = {result.uniform_loss:.2f} for a uniform guess.\n\n"
            f"Sample (300 characters, temperature {lm_config.temperature}):\n\n```\n{result.sample}\n```\n")
    metrics["sample"] = result.sample
    return Section("lm", "Character-level language model", body, [("Validation loss", figure)], metrics)


def gradient_section(folder: Path, config: TourConfig) -> Section:
    from seqlab.diagnostics.compare_flow import gradient_flow_figure

    figure = folder / "gradient_flow.png"
    summary = gradient_flow_figure(figure, seed=config.seed)
    write_json_atomic(folder / "gradient_flow.json", summary)
    rows = ["| cell | ||dL/dh_0|| / ||dL/dh_T-1|| |", "|---|---|"]
    for cell, values in summary["cells"].items():
        ratio = values.get("grad_ratio") if isinstance(values, dict) else None
        rows.append(f"| {cell} | {_fmt(ratio)} |")
    body = (f"The norm of the gradient of a loss at the last of T = {summary['T']} steps with respect to "
            f"each hidden state h_t, at initialisation (hidden size {summary['hidden_size']}). What survives "
            "the trip back to the first step:\n\n" + "\n".join(rows) + "\n")
    return Section("gradients", "Gradient flow through time", body, [("||dL/dh_t|| against t", figure)],
                   {"cells": summary["cells"]})


def sentiment_section(folder: Path, config: TourConfig) -> Section:
    from seqlab.training.recipes import load_run_config
    from seqlab.training.tasks import recipe

    module = recipe("sentiment")
    run_config = load_run_config("sentiment", "sentiment", [
        f"data.path={bundled_path('sentence_polarity')}", f"fit.max_seconds={config.sentiment_seconds}",
        f"fit.seed={config.seed % 1000}"])
    result = module.train(run_config, folder)
    loaded = module.load(folder, run_config)
    predictions = loaded.predict(SENTIMENT_EXAMPLES)
    rows = ["| sentence | label | probability |", "|---|---|---|"]
    rows += [f"| {text} | {label} | {p:.2f} |" for text, (label, p) in zip(SENTIMENT_EXAMPLES, predictions)]
    accuracy = result.best_metrics.get("accuracy", float("nan"))
    body = (f"A bidirectional GRU over word embeddings ({result.parameters:,} parameters), trained for "
            f"{config.sentiment_seconds:.0f} s on 90% of Pang and Lee's 10,662 movie-review snippets. "
            f"Held-out accuracy **{accuracy:.1%}** (Kim 2014 reports 76.1% for a CNN with random embeddings, "
            f"10-fold).\n\n" + "\n".join(rows) + "\n")
    figures = [("Learning curves", folder / "curves.png")] if (folder / "curves.png").is_file() else []
    return Section("sentiment", "Sentiment classification", body, figures,
                   {"accuracy": accuracy, "sentences": list(SENTIMENT_EXAMPLES),
                    "examples": [list(p) for p in predictions]})


def forecast_section(folder: Path, config: TourConfig) -> Section:
    from seqlab.training.recipes import load_run_config
    from seqlab.training.tasks import recipe

    module = recipe("forecast")
    run_config = load_run_config("forecast", None, [
        f"data.source={bundled_path('airline') / 'Airline.csv'}", "data.date_column=Date",
        f"model.ensemble={config.forecast_ensemble}", f"fit.seed={config.seed % 1000}"])
    result = module.train(run_config, folder)
    figure = folder / "forecast.png"
    _forecast_figure(result, figure)
    rows = ["| method | MAPE | MASE |", "|---|---|---|"]
    for method, values in result.metrics.items():
        rows.append(f"| {method} | {values.get('mape', float('nan')):.2f}% | {values.get('mase', float('nan')):.3f} |")
    model = result.metrics.get("model", {})
    body = (f"An ensemble of {config.forecast_ensemble} LSTM forecasters trained on the monthly airline passengers "
            f"before {run_config.data.backtest_start}, then backtested from there with a "
            f"{run_config.data.horizon}-month horizon, beside baselines computed in the same run:\n\n"
            + "\n".join(rows) + "\n")
    return Section("forecast", "Time-series forecasting", body, [("Backtest forecasts", figure)],
                   {"model": model, "metrics": result.metrics})


def translation_section(folder: Path, config: TourConfig) -> Section:
    from seqlab.training.recipes import load_run_config
    from seqlab.training.tasks import recipe

    module = recipe("translate")
    # the shipped attention-GRU recipe on the bundled slice, with a time budget (so a constant rate, not cosine)
    run_config = load_run_config("translate", "translate_gru", [
        f"data.path={bundled_path('fra-eng') / 'fra-first-40000.txt'}",
        f"data.test_sources={config.translation_test_sentences}",
        "data.val_sources=300", "data.min_count=2", "fit.schedule=constant", "fit.max_steps=100000",
        f"fit.max_seconds={config.translation_seconds}", "fit.eval_every=200", f"fit.seed={config.seed % 1000}"])
    run_config = replace(run_config, beam_size=3, max_len=20)
    result = module.train(run_config, folder)
    translator = module.load(folder, run_config)
    outputs = translator.translate(TRANSLATION_EXAMPLES)
    rows = ["| English | French (seqlab, beam 3) |", "|---|---|"]
    rows += [f"| {src} | {out} |" for src, out in zip(TRANSLATION_EXAMPLES, outputs)]
    test = result.test_metrics
    figures = []
    figure = folder / "alignment.png"
    if _alignment_figure(translator, TRANSLATION_EXAMPLES[0], figure):
        figures.append((f"Attention of the decoder over “{TRANSLATION_EXAMPLES[0]}”", figure))
    body = (f"A GRU encoder-decoder with Bahdanau attention ({result.parameters:,} parameters) trained for "
            f"{config.translation_seconds:.0f} s on {test.get('train_pairs', 0):,} short Tatoeba pairs. BLEU on "
            f"{test.get('test_sentences', 0)} held-out sentences: **{test.get('bleu_greedy', float('nan')):.1f}** "
            f"greedy, {test.get('bleu_beam', float('nan')):.1f} with beam search (sacrebleu). A tour-sized run: "
            "`seqlab train translate` trains the full-size models.\n\n" + "\n".join(rows) + "\n")
    return Section("translation", "Machine translation with attention", body, figures,
                   {"bleu_greedy": test.get("bleu_greedy"), "bleu_beam": test.get("bleu_beam"),
                    "examples": dict(zip(TRANSLATION_EXAMPLES, outputs))})


RUNNERS = {"lm": language_model_section, "gradients": gradient_section, "sentiment": sentiment_section,
           "forecast": forecast_section, "translation": translation_section}


def run_tour(run_dir: str | Path, config: TourConfig = TourConfig(),
             on_section: Callable[[str, str], None] | None = None,
             on_lm_step: Callable[[int, dict], None] | None = None,
             on_result: Callable[[Section], None] | None = None) -> list[Section]:
    """Run the tour's sections into ``run_dir`` and write ``report.md`` and ``report.html`` there.

    ``on_section(key, "start" | "done")``, ``on_lm_step(step, info)`` and ``on_result(section)`` let a
    caller show progress and results as they come.
    """
    run_dir = Path(run_dir)
    write_json_atomic(run_dir / "tour_config.json", asdict(config))
    sections = []
    for key in config.sections:
        if on_section is not None:
            on_section(key, "start")
        folder = run_dir / key
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        section = RUNNERS[key](folder, config, on_lm_step) if key == "lm" else RUNNERS[key](folder, config)
        section.seconds = time.perf_counter() - start
        sections.append(section)
        log.info("tour: %s done in %.1f s", key, section.seconds)
        if on_section is not None:
            on_section(key, "done")
        if on_result is not None:
            on_result(section)
        write_report(run_dir, sections)  # after every section, so an interrupted tour keeps what it did
    return sections


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
        parts.append(_markdown_to_html(s.text))
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


def _markdown_to_html(text: str) -> str:
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
            cells = [c.strip() for c in line.strip("|").split("|")]
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

def _line_figure(curves: dict, path: Path, xlabel: str, ylabel: str, title: str, baseline=None) -> None:
    from seqlab.plots._figure import new_figure, save_png

    figure = new_figure()
    axes = figure.add_subplot()
    for label, (xs, ys) in curves.items():
        axes.plot(xs, ys, label=label, marker="o", markersize=2.5)
    if baseline is not None:
        axes.axhline(baseline[0], color="black", linestyle="--", linewidth=1.0, label=baseline[1])
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    save_png(figure, path)


def _forecast_figure(result, path: Path) -> None:
    """The series, and each method's forecasts at the backtest's origins (the last step of each)."""
    from seqlab.plots._figure import new_figure, save_png

    figure = new_figure(8.0, 4.5)
    axes = figure.add_subplot()
    backtests = result.backtests
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


def _alignment_figure(translator, sentence: str, path: Path) -> bool:
    """The attention map of the greedy translation of ``sentence``; False when the model gives none."""
    import torch

    from seqlab.plots.attention import attention_map_figure
    from seqlab.training.tasks.translation import pretokenize

    model, src_vocab, tgt_vocab = translator.model, translator.source_vocabulary, translator.target_vocabulary
    tokens = pretokenize(sentence)
    translated = translator.translate([sentence], beam_size=1)[0].split()
    if not translated:
        return False
    src = torch.tensor([src_vocab.encode(tokens)])
    tgt_in = torch.tensor([[tgt_vocab.index["<bos>"], *tgt_vocab.encode(translated)]])  # (1, n + 1)
    with torch.no_grad():
        try:
            _, weights = model(src, torch.tensor([src.shape[1]]), tgt_in, need_weights=True)  # (1, n + 1, S)
        except TypeError:  # a model without attention weights to show
            return False
    # row i is the attention paid while predicting output token i (the last one predicts the end)
    attention_map_figure(weights[0], tokens, [*translated, "<eos>"], path, title="Bahdanau attention")
    return True


__all__ = ["RUNNERS", "SECTIONS", "Section", "TourConfig", "report_html", "report_markdown", "run_tour"]
