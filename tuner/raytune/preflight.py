"""Before the first trial: does every node that may run trials reach the experiment's storage?

The driver writes a marker in the experiment's folder; a small task on every such node reads
it and writes one of its own beside it, which the driver then reads and deletes. A node that
cannot (a local folder that is another, empty folder there; no credentials for the bucket; tuner
not installed) is one line, naming the node, the storage, what failed and the fix, before
anything trains. Ray Tune would otherwise train each trial placed there for an epoch and fail
it at its first checkpoint, and a search with the head's CPUs in the cluster would end "done"
on the head alone.
"""

from __future__ import annotations

import secrets

from tuner.errors import UserError
from tuner.store.remote import FIX, first_line

CHECK_DIR = ".tuner-node-check"
TIMEOUT_S = 60.0


def check_nodes_reach(storage_fs, exp_path: str, shown: str, *, cpu: float, gpu: float,
                      timeout: float = TIMEOUT_S) -> int:
    """Check every alive node with room for a trial (`cpu`, `gpu`) other than the driver's
    own; `storage_fs`, `exp_path`: the pyarrow filesystem and the experiment folder's path on
    it, `shown`: how the user named it. Returns the number of nodes checked."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    nodes = [n for n in ray.nodes() if n.get("Alive") and n["NodeID"] != here
             and n["Resources"].get("CPU", 0) >= cpu and n["Resources"].get("GPU", 0) >= gpu]
    if not nodes:
        return 0
    folder = f"{exp_path}/{CHECK_DIR}"
    token = secrets.token_hex(8).encode()
    storage_fs.create_dir(folder)
    with storage_fs.open_output_stream(f"{folder}/driver") as f:
        f.write(token)
    probe = ray.remote(num_cpus=0, max_retries=0)(_probe)
    pending = {
        probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
                      ).remote(storage_fs, folder, token, n["NodeID"]): n
        for n in nodes}
    try:
        done, late = ray.wait(list(pending), num_returns=len(pending), timeout=timeout)
        for ref in done:
            node = pending[ref]
            try:
                problem = ray.get(ref)
            except Exception as e:  # noqa: BLE001 (the task could not run there)
                problem = f"the check could not run there: {first_line(e)}"
            if problem is None:
                problem = _read_back(storage_fs, f"{folder}/{node['NodeID']}", token)
            if problem:
                raise UserError(f"storage {shown}: node {node['NodeManagerAddress']} cannot "
                                f"use it: {problem}; {FIX}")
        if late:
            ips = ", ".join(pending[r]["NodeManagerAddress"] for r in late)
            raise UserError(f"storage {shown}: node {ips} did not answer the storage check in "
                            f"{timeout:g} s; check that the node is healthy (`ray status`)")
    finally:
        try:
            storage_fs.delete_dir(folder)
        except OSError:
            pass
    return len(nodes)


def _probe(fs, folder: str, token: bytes, node_id: str) -> str | None:
    """On a node: read the driver's marker, write this node's. None when both worked."""
    try:
        with fs.open_input_stream(f"{folder}/driver") as f:
            seen = f.read()
    except Exception as e:  # noqa: BLE001
        return (f"it does not hold what the driver's machine wrote there (reading the marker "
                f"failed: {first_line(e)})")
    if seen != token:
        return "the marker there is not the one the driver's machine wrote (another folder)"
    try:
        with fs.open_output_stream(f"{folder}/{node_id}") as f:
            f.write(token)
    except Exception as e:  # noqa: BLE001
        return f"writing there failed: {first_line(e)}"
    return None


def _read_back(fs, path: str, token: bytes) -> str | None:
    try:
        with fs.open_input_stream(path) as f:
            return None if f.read() == token else "what it wrote differs here"
    except Exception as e:  # noqa: BLE001
        return (f"what it wrote there does not reach the driver's machine ({first_line(e)})")
