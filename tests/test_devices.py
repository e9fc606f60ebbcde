"""Devices: which GPU share trials ask Ray for, and data copied to a device once per worker.
The CUDA paths run where a GPU is (see tests/models for the CUDA forward passes)."""

import dataclasses
import io

import pytest

from tests.conftest import EXPERIMENTS
from tuner.errors import UserError
from tuner.experiment import Resources, load


def spec_with(**resources):
    spec = load(EXPERIMENTS / "digits_cnn.toml")
    return dataclasses.replace(spec, resources=Resources(**resources))


@pytest.mark.parametrize(
    ("resources", "cluster", "share"),
    [
        ({}, {"CPU": 2}, 0.0),  # auto without GPUs: CPU
        ({}, {"CPU": 16, "GPU": 1}, 1.0),  # auto with GPUs: one per trial
        ({"gpu": 0.125}, {"CPU": 16, "GPU": 1}, 0.125),  # 8 trials packed on each GPU
        ({"device": "cpu"}, {"CPU": 16, "GPU": 1}, 0.0),
        ({"device": "cuda", "gpu": 0.25}, {"CPU": 16, "GPU": 2}, 0.25),
    ],
)
def test_gpu_share(resources, cluster, share):
    from tuner.resources import gpu_share

    assert gpu_share(spec_with(**resources), cluster, io.StringIO()) == share


def test_a_gpu_share_without_gpus_falls_back_to_the_cpu_and_says_so():
    from tuner.resources import gpu_share

    out = io.StringIO()
    assert gpu_share(spec_with(gpu=0.5), {"CPU": 2}, out) == 0.0
    assert out.getvalue() == ("  note   [resources] gpu = 0.5, but the Ray cluster has no GPU: "
                              "trials run on the CPU\n")


def test_cuda_without_gpus_is_one_clear_line():
    from tuner.resources import gpu_share

    with pytest.raises(UserError) as e:
        gpu_share(spec_with(device="cuda"), {"CPU": 2}, io.StringIO())
    assert str(e.value).endswith(': [resources] device = "cuda", but the Ray cluster has no GPU; '
                                 'use device = "auto" to fall back to the CPU, or join a cluster '
                                 'with GPUs')


def test_data_goes_to_the_device_once_per_worker():
    import copy

    import torch

    from tuner.data import load_data
    from tuner.training import device as trial

    data = load_data("digits", split=(0.7, 0.15, 0.15), seed=0).for_tuning()
    cpu = torch.device("cpu")
    train, valid = trial.device_tensors(data, cpu)
    # Ray hands each trial a fresh copy of the data object: the copy finds the same tensors
    again = trial.device_tensors(copy.deepcopy(data), cpu)
    assert again[0][0] is train[0] and again[1][1] is valid[1]
    other = load_data("digits", split=(0.7, 0.15, 0.15), seed=1).for_tuning()
    replaced = trial.device_tensors(other, cpu)
    assert replaced[0][0] is not train[0]
    assert torch.equal(replaced[0][0], torch.as_tensor(other.x_train))


def test_a_trial_larger_than_every_node_is_refused_before_it_waits_forever():
    from tuner.experiment import load
    from tuner.resources import check_fits_a_node

    spec = load(EXPERIMENTS / "digits_cnn.toml").with_overrides(cpu=4)
    nodes = [{"Alive": True, "Resources": {"CPU": 2.0}},
             {"Alive": True, "Resources": {"CPU": 2.0}}, {"Alive": False, "Resources": {"CPU": 8.0}}]
    with pytest.raises(UserError) as e:
        check_fits_a_node(spec, 0.0, nodes)
    assert str(e.value) == (f"{spec.path}: [resources] cpu = 4 per trial (or --cpus-per-trial), "
                            f"but the largest Ray node has 2 CPUs and a trial runs on one node; "
                            f"ask for at most 2")
    check_fits_a_node(spec.with_overrides(cpu=2), 0.0, nodes)  # fits: no error
