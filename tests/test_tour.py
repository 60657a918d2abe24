"""The tour's sections that the CLI test leaves out, at tiny budgets: forecast and translation."""

from dataclasses import replace

import pytest

from seqlab.errors import SeqlabError
from seqlab.tour import TourConfig, report_html, run_tour

pytest.importorskip("statsmodels")


def test_forecast_and_translation_sections_write_their_report(tmp_path):
    config = TourConfig(sections=("forecast", "translation"), forecast_ensemble=1, translation_seconds=3,
                        translation_test_sentences=10)
    sections = run_tour(tmp_path, config)
    forecast, translation = sections
    assert set(forecast.metrics["metrics"]) >= {"model", "seasonal_naive", "naive"}
    # baselines computed in the run, not typed in: seasonal naive on the airline backtest is far from perfect
    assert forecast.metrics["metrics"]["seasonal_naive"]["mape"] > 1.0
    assert len(translation.metrics["examples"]) == 5
    assert 0.0 <= translation.metrics["bleu_greedy"] <= 100.0
    assert (tmp_path / "forecast" / "forecast.png").stat().st_size > 0
    assert "Machine translation with attention" in (tmp_path / "report.md").read_text()
    assert report_html(sections, tmp_path).count("<img") == sum(len(s.figures) for s in sections)


def test_tour_config_names_the_bad_field():
    with pytest.raises(SeqlabError, match="sections: expected some of"):
        TourConfig(sections=("lm", "poems"))
    with pytest.raises(SeqlabError, match="forecast_ensemble: expected an integer >= 1"):
        replace(TourConfig(), forecast_ensemble=0)
