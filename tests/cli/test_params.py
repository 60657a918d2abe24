"""`seqlab params`: the model-size table from the command line."""

from typer.testing import CliRunner

from seqlab.cli.app import app


def test_params_prints_the_table_with_sources():
    result = CliRunner().invoke(app, ["params"])
    assert result.exit_code == 0, result.output
    for expected in ("BERT-base", "109,482,240", "GPT-2 small", "124,439,808", "Vaswani et al. 2017", "Devlin"):
        assert expected in result.output
    assert "Outside 1%" in result.output and "Transformer base" in result.output
