"""The tour's sections at tiny budgets (the CLI test runs the language model and the gradients), and its report."""

import re
from dataclasses import replace

import pytest

from seqlab.cli.tour import TourConfig, markdown_to_html, report_html, run_tour
from seqlab.errors import SeqlabError

pytest.importorskip("statsmodels")


def test_sentiment_forecast_and_translation_sections_write_their_report(tmp_path):
    config = TourConfig(sections=("sentiment", "forecast", "translation"), sentiment_epochs=1,
                        sentiment_examples=600, forecast_ensemble=1, translation_steps=3, translation_pairs=3000,
                        translation_test_sentences=10)
    sections = run_tour(tmp_path, config)
    sentiment, forecast, translation = sections
    assert 0.0 <= sentiment.metrics["accuracy"] <= 1.0 and len(sentiment.metrics["examples"]) == 4
    assert set(forecast.metrics["metrics"]) >= {"model", "seasonal_naive", "naive"}
    # baselines computed in the run, not typed in: seasonal naive on the airline backtest is far from perfect
    assert forecast.metrics["metrics"]["seasonal_naive"]["mape"] > 1.0
    assert len(translation.metrics["examples"]) == 5
    assert 0.0 <= translation.metrics["bleu_greedy"] <= 100.0
    assert (tmp_path / "forecast" / "forecast.png").stat().st_size > 0
    assert "Machine translation with attention" in (tmp_path / "report.md").read_text()
    html = report_html(sections, tmp_path)
    assert html.count("<img") == sum(len(s.figures) for s in sections)
    assert_tables_are_whole(html)
    # the tour keeps what a user needs: the best weights, not the resumable last state with the optimiser
    assert (tmp_path / "translation" / "checkpoints" / "best.safetensors").is_file()
    assert not (tmp_path / "translation" / "checkpoints" / "last.safetensors").exists()


def assert_tables_are_whole(html: str) -> None:
    """Every row of every table has as many cells as the table's header."""
    tables = re.findall(r"<table>(.*?)</table>", html, flags=re.S)
    assert tables
    for table in tables:
        rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
        widths = [len(re.findall(r"<t[hd]>", row)) for row in rows]
        assert len(set(widths)) == 1, (widths, table[:200])


def test_a_table_with_norm_bars_in_its_header_renders_whole():
    text = "| cell | ‖dL/dh_0‖ / ‖dL/dh_T-1‖ |\n|---|---|\n| lstm | 1.0e-09 |\n"
    assert_tables_are_whole(markdown_to_html(text))


def test_tour_config_names_the_bad_field():
    with pytest.raises(SeqlabError, match="sections: expected some of"):
        TourConfig(sections=("lm", "poems"))
    with pytest.raises(SeqlabError, match="forecast_ensemble: expected an integer >= 1"):
        replace(TourConfig(), forecast_ensemble=0)
