"""Every shipped config runs from a fresh clone with nothing set: on the data bundled in the package, or with a
one-line error that gives the exact `seqlab data get` command."""

from __future__ import annotations

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.run_config import config_command, load_run_config, shipped_configs
from seqlab.training.runner import train

TINY = {
    "sentiment": ["data.limit=200", "data.batch_size=16", "model.embedding_dim=8", "model.hidden_size=8"],
    "lm": ["data.limit=20000", "data.block_size=16", "data.batch_size=4", "data.vocab_size=280",
           "model.embedding_dim=8", "model.hidden_size=16", "model.num_layers=1", "model.n_layer=1",
           "model.n_embd=16", "model.n_head=2", "sample.length=5"],
    "translate": ["data.limit=1500", "data.test_sources=10", "data.val_sources=10", "data.batch_size=8",
                  "model.d_model=16", "model.hidden_size=16", "model.dim_feedforward=32", "model.num_layers=1",
                  "model.nhead=2", "max_len=5"],
    "forecast": ["model.ensemble=1", "model.hidden_size=4"],
    "ner": ["data.limit=20", "model.embedding_dim=8", "model.hidden_size=8"],
    "mlm": ["data.limit=3000", "data.vocab_size=200", "data.block_size=16", "data.batch_size=4", "model.hidden_size=16",
            "model.num_layers=1", "model.num_heads=2", "model.intermediate_size=32"],
}
BUDGET = ["fit.max_steps=2", "fit.max_seconds=null", "fit.eval_every=2", "fit.plots=false"]
NOT_BUNDLED = {"ner_wnut17": "seqlab data get wnut17", "bert_mlm": "seqlab data get gutenberg",
               "gpt_gutenberg": "seqlab data get gutenberg"}


@pytest.fixture
def fresh_clone(monkeypatch, tmp_path):
    """Nothing set: no SEQLAB_DATA_DIR, an empty per-user data folder."""
    monkeypatch.delenv("SEQLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path / "home"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_every_shipped_config_runs_from_a_fresh_clone_or_says_how_to_get_its_data(fresh_clone, name):
    task = config_command(shipped_configs()[name]).split()[2]
    if task == "forecast" and name in ("co2", "sunspots"):
        pytest.importorskip("statsmodels")  # the series statsmodels ships
    overrides = [*TINY[task], *BUDGET]
    if name == "sentiment_w2v":  # the config's header command names a vector file
        vectors = fresh_clone / "v.txt"
        vectors.write_text("2 8\nfilm " + " ".join(["0.1"] * 8) + "\nbad " + " ".join(["-0.1"] * 8) + "\n")
        overrides.append(f"model.vectors={vectors}")
    config = load_run_config(task, name, overrides)
    run_dir = fresh_clone / "runs" / name
    if name in NOT_BUNDLED:
        with pytest.raises(SeqlabError, match=NOT_BUNDLED[name]) as error:
            train(config, run_dir)
        assert "\n" not in str(error.value)
        assert not run_dir.exists()  # a run that cannot start leaves no folder
        return
    result = train(config, run_dir)
    assert result.history.steps >= 1 and (run_dir / "checkpoints" / "best.safetensors").is_file()
