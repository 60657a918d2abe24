"""Gradient-flow figures are real PNGs, written atomically, and survive underflowed (zero) values."""

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from seqlab.diagnostics import gradient_flow_figure
from seqlab.plots.gradients import gradient_norms_figure, jacobian_decay_figure


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: a second thread only slows them on a shared CPU
    yield
    torch.set_num_threads(threads)


def test_curves_with_zeros_make_a_png(tmp_path):
    curves = {"rnn": [0.0, 1e-30, 1e-5, 1.0], "lstm": [1e-3, 1e-2, 1e-1, 1.0]}
    gradient_norms_figure(curves, tmp_path / "g.png")
    jacobian_decay_figure(curves, tmp_path / "j.png")
    for name in ("g.png", "j.png"):
        image = imread(tmp_path / name)
        assert image.shape[0] > 100 and image.shape[1] > 100
        assert np.std(image) > 0.01  # something was drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "j.png"]  # no temporary files left


def test_the_demo_figure_shows_the_vanilla_rnn_vanishing(tmp_path):
    summary = gradient_flow_figure(tmp_path / "flow.png", seed=0, T=40, hidden_size=16)
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cells = summary["cells"]
    assert set(cells) == {"rnn_tanh", "rnn_tanh_orthogonal", "lstm", "lstm_forget_bias_1", "gru"}
    # PyTorch's default init gives rho(W_hh) ~ 1/sqrt(3) < 1: the tanh RNN's gradient vanishes
    assert cells["rnn_tanh"]["spectral_radius_w_hh"]["hh"] < 1
    assert cells["rnn_tanh"]["grad_ratio"] < 1e-4
    # an orthogonal W_hh and a forget bias of 1 both carry the gradient further back
    assert cells["rnn_tanh_orthogonal"]["grad_ratio"] > cells["rnn_tanh"]["grad_ratio"]
    assert cells["lstm_forget_bias_1"]["grad_ratio"] > cells["lstm"]["grad_ratio"]
