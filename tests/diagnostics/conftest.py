"""One torch thread per test here: these tests time many tiny ops, which a second thread only slows
on a shared CPU (the thread count is restored afterwards)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
