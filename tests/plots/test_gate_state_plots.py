"""Gate heat maps and PCA trajectories: real PNGs, the PCA matches its definition, bad shapes are named."""

import numpy as np
import pytest
from matplotlib.image import imread

from seqlab.errors import SeqlabError
from seqlab.plots.gates import gate_heatmaps_figure
from seqlab.plots.states import pca_2d, state_trajectories_figure


def test_pca_recovers_a_planar_trajectory_and_its_variance_split():
    t = np.linspace(0, 2 * np.pi, 50)
    basis = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 2)))[0]  # an orthonormal plane in R^6
    states = np.stack([3 * np.cos(t), np.sin(t)], axis=1) @ basis.T + 5.0  # (T, 6), offset removed by centring
    coords, explained = pca_2d(states)
    assert explained.sum() == pytest.approx(1.0)
    assert explained[0] == pytest.approx(9 / 10, abs=0.01)  # variances 9/2 and 1/2
    np.testing.assert_allclose(np.abs(coords[:, 0]), np.abs(3 * np.cos(t) - np.mean(3 * np.cos(t))), atol=1e-9)


def test_heatmaps_and_trajectories_are_written(tmp_path):
    tokens = list("hello world")
    rng = np.random.default_rng(1)
    gates = {"f": rng.uniform(size=(11, 40)), "g": rng.uniform(-1, 1, size=(11, 40)), "c": rng.normal(size=(11, 40))}
    gate_heatmaps_figure(gates, tokens, tmp_path / "gates.png", units=16)
    state_trajectories_figure({"layer 0": rng.normal(size=(11, 8))}, tmp_path / "pca.png", tokens=tokens)
    for name in ("gates.png", "pca.png"):
        assert imread(tmp_path / name).shape[0] > 100
    with pytest.raises(SeqlabError, match="expected shape"):
        gate_heatmaps_figure({"f": rng.uniform(size=(5, 4))}, tokens, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
