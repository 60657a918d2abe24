"""Checkpoints: one safetensors file, no pickle, optimiser and RNG state restored exactly."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.training.checkpoint import load_checkpoint, restore_optimizer, restore_rng, save_checkpoint


def trained(model, optimizer, steps=3):
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.ones(2, 3)).sum().backward()
        optimizer.step()


def test_weights_optimizer_and_rng_round_trip(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    trained(model, optimizer)
    random.seed(5)
    np.random.seed(5)
    save_checkpoint(tmp_path / "c.safetensors", model, {"step": 3}, optimizer=optimizer, rng=True)
    expected = (torch.rand(3), np.random.rand(2), random.random())

    torch.manual_seed(1)
    copy = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    copy_optimizer = torch.optim.AdamW(copy.parameters(), lr=0.1)
    checkpoint = load_checkpoint(tmp_path / "c.safetensors")
    copy.load_state_dict(checkpoint.model_state())
    restore_optimizer(copy_optimizer, checkpoint)
    restore_rng(checkpoint)
    assert checkpoint.meta["step"] == 3 and (tmp_path / "c.json").is_file()
    got = (torch.rand(3), np.random.rand(2), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]
    trained(model, optimizer, 2)
    trained(copy, copy_optimizer, 2)
    for a, b in zip(model.parameters(), copy.parameters()):
        assert torch.equal(a, b)


def test_tied_weights_are_saved(tmp_path):
    model = nn.ModuleDict({"a": nn.Embedding(5, 3), "b": nn.Linear(3, 5, bias=False)})
    model["b"].weight = model["a"].weight
    save_checkpoint(tmp_path / "t.safetensors", model, {})
    state = load_checkpoint(tmp_path / "t.safetensors").model_state()
    assert torch.equal(state["a.weight"], state["b.weight"])


def test_foreign_or_damaged_files_are_refused(tmp_path):
    save_file({"x": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(SeqlabError, match="without seqlab metadata"):
        load_checkpoint(tmp_path / "plain.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x80\x04not a checkpoint")  # e.g. a pickle
    with pytest.raises(SeqlabError, match="not a readable safetensors checkpoint"):
        load_checkpoint(tmp_path / "bad.safetensors")
    with pytest.raises(SeqlabError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.safetensors")
