"""DDP on 2 CPU processes (gloo) reaches the same parameters as one process with the same global batch."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import TensorDataset

from seqlab.training import distributed
from seqlab.training.config import FitConfig
from seqlab.training.fit import LAST, fit

GLOBAL_BATCH = 8
CONFIG = FitConfig(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=0.01, epochs=2, clip_norm=1.0, seed=0,
                   plots=False)


class RegressionTask:
    name = "regression"

    def loss(self, model, batch):
        x, y = batch
        return F.mse_loss(model(x), y)

    def evaluate(self, model, batches):
        return {"loss": sum(F.mse_loss(model(x), y).item() for x, y in batches)}

    def state(self):
        return {}


def data() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 3, generator=g, dtype=torch.float64)
    return TensorDataset(x, x @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.1)


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()


def train(run_dir, world: int) -> nn.Module:
    net = model()
    loader = distributed.shard_loader(data(), GLOBAL_BATCH // world, shuffle=True, seed=3)
    fit(net, RegressionTask(), loader, None, CONFIG, run_dir)
    return net


def worker(rank: int, world: int, init_file: str, out: str, run_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        net = train(run_dir, world)
        if rank == 0:
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, out)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    out = tmp_path / "ddp.safetensors"
    mp.spawn(worker, args=(2, str(tmp_path / "init"), str(out), str(tmp_path / "ddp")), nprocs=2, join=True)
    torch.set_num_threads(1)
    single = train(tmp_path / "single", world=1)
    parallel = load_file(str(out))
    assert set(parallel) == set(single.state_dict())
    for name, value in single.state_dict().items():
        torch.testing.assert_close(parallel[name], value, rtol=1e-12, atol=1e-12)
    assert not torch.equal(single.state_dict()["0.weight"], model().state_dict()["0.weight"])  # it did train
    assert (tmp_path / "ddp" / LAST).is_file()  # rank 0 wrote the checkpoint
