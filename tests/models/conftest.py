"""One torch thread for the model tests, as in a 1-CPU trial."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def one_torch_thread():
    # These models are tiny: a second thread costs more than it saves, and on a busy 2-core
    # machine OpenMP threads spin waiting for each other (single forwards took seconds).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
