"""Reliability when a node is lost: how often a run on a two-node cluster survives losing its
second node in the middle of a trial, and how many trials that costs.

    .venv/bin/python benchmarks/cluster_faults.py [--runs N] [--max-failures N]

A local cluster on loopback (tests/test_cluster.py's LocalCluster: a head on 127.0.0.2 with one
CPU, token authentication on); each run adds a fresh one-CPU node, tunes a two-trial experiment
across both nodes with `tuner run --address`, kills the new node's raylet once its trial has
reported epoch 3, and checks that the run still ends with every trial complete, the lost one
resumed from its checkpoint on the head. Prints one line per run, then
"node losses survived: k/N, trials lost: m".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_cluster import HEAD_IP, LocalCluster, lose_a_node, resumed_from_checkpoint  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="node losses to try (default 3)")
    ap.add_argument("--max-failures", type=int, default=2,
                    help="retries per trial, as [search] max_failures (default 2)")
    ap.add_argument("--epochs", type=int, default=15, help="epochs per trial (default 15)")
    args = ap.parse_args()

    survived = lost = 0
    with tempfile.TemporaryDirectory(prefix="cluster-faults-") as tmp:
        work = Path(tmp)
        cluster = LocalCluster(work)
        try:
            cluster.start()
            for i in range(args.runs):
                name, ip = f"node{i + 1}", f"127.0.0.{3 + i}"
                cluster.add_node(name, ip)
                cluster.wait_for([HEAD_IP, ip])
                started = time.monotonic()
                h = lose_a_node(cluster, name, work / f"run{i}", work / f"out{i}",
                                epochs=args.epochs, max_failures=args.max_failures)
                wall = time.monotonic() - started
                done = [r for r in h["records"] if r.status == "completed"
                        and r.epochs == args.epochs]
                trials_lost = 2 - len(done)
                ok = h["code"] == 0 and h["trial"] is not None and trials_lost == 0 \
                    and resumed_from_checkpoint(h)
                survived += ok
                lost += trials_lost
                there = [e for node, e in h["rows"] if node == ip]
                moved = next((e for node, e in h["rows"] if node != ip), None)
                print(f"run {i + 1}: {'survived' if ok else 'FAILED'} in {wall:.0f} s · "
                      f"{h['trial'] or 'no trial'}: raylet killed after epoch {h['killed_after']}, "
                      f"last epoch on the node {max(there, default=None)}, went on at epoch "
                      f"{moved} · exit {h['code']} · {trials_lost} trial(s) lost", flush=True)
                if not ok:
                    print(h["out"][-2000:], flush=True)
                # the dead node is gone from the cluster; wait for the head to say so
                cluster.wait_for([HEAD_IP])
        finally:
            cluster.stop()
    print(f"node losses survived: {survived}/{args.runs}, trials lost: {lost}")
    return 0 if survived == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
