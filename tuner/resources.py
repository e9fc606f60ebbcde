"""What each trial asks of Ray (CPUs, a GPU or a share of one) and how many run at a time."""

from __future__ import annotations

import sys

from tuner.errors import UserError
from tuner.experiment import ExperimentSpec


def gpu_share(spec: ExperimentSpec, cluster: dict, out=None) -> float:
    """The share of a GPU each trial asks Ray for, from [resources] and the cluster's GPUs.

    device = "auto": a GPU per trial (or the `gpu` share) when the cluster has GPUs, else the
    CPU (said once); "cuda": GPUs required; "cpu", "mps": none (Ray has no MPS resource: on a
    Mac, trials share its GPU and each picks MPS itself).
    """
    res = spec.resources
    gpus = float(cluster.get("GPU", 0))
    if res.device in ("cpu", "mps"):
        return 0.0
    if gpus <= 0:
        if res.device == "cuda":
            raise UserError(
                f'{spec.path}: [resources] device = "cuda", but the Ray cluster has no GPU; '
                f'use device = "auto" to fall back to the CPU, or join a cluster with GPUs'
            )
        if res.gpu > 0:
            print(f"  note   [resources] gpu = {res.gpu:g}, but the Ray cluster has no GPU: "
                  f"trials run on the CPU", file=out or sys.stdout)
        return 0.0
    return res.gpu or 1.0


def check_fits_a_node(spec: ExperimentSpec, gpu: float, nodes: list[dict]) -> None:
    """A trial runs on one node: asking more than the largest node has would wait forever."""
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive")]
    for kind, want, key in (("CPU", spec.resources.cpu, "cpu"), ("GPU", gpu, "gpu")):
        largest = max((float(r.get(kind, 0)) for r in alive), default=0.0)
        if want > largest:
            raise UserError(
                f"{spec.path}: [resources] {key} = {want:g} per trial (or --{key}s-per-trial), "
                f"but the largest Ray node has {largest:g} {kind}s and a trial runs on one node; "
                f"ask for at most {largest:g}"
            )


def trial_slots(resources: dict, cpu: float, gpu: float) -> int:
    n = int(resources.get("CPU", 1) // cpu) if cpu else 1_000
    if gpu:
        n = min(n, int(resources.get("GPU", 0) // gpu))
    return max(n, 1)
