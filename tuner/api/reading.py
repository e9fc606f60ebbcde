"""The verbs that read a search: `best`, `results`, `status`, `space`, `report`, `board`, and the
jobs `submit` recorded. Each returns a value; `tuner <verb>` prints it."""

from __future__ import annotations

import math
from pathlib import Path

from tuner.api.experiment import as_experiment
from tuner.api.results import Board, SpaceView, Trial, located, trial_of
from tuner.store.storage import (  # re-exported: tuner.api.storage_root, storage_name
    storage_name,  # noqa: F401
    storage_root,
)


def best(name, *, storage: str | None = None, output: str | None = None) -> Trial:
    """The best trial (by name, folder or Result), with `.document` (what best.toml holds);
    `output` writes it as `tuner best -o` does (.toml or .json)."""
    from tuner.store import best_of, write_best

    summary, doc = best_of(located(name), storage)
    if output:
        write_best(Path(output), doc)
    return trial_of(summary.best, summary.spec.search.metric, doc, summary.folder)


def results(name, *, storage: str | None = None, output: str | None = None):
    """Every trial as a pandas DataFrame (its `attrs["folder"]`: the experiment's); `output`
    also writes it (.csv or .parquet) as `tuner results -o` does."""
    from tuner.store import export_table, find_experiment, load_records
    from tuner.store.table import frame

    exp_dir = find_experiment(located(name), storage)
    records = load_records(exp_dir)
    if output:
        export_table(Path(output), records)
    table = frame(records)
    table.attrs["folder"] = str(exp_dir)
    return table


def summaries(name=None, *, storage: str | None = None) -> list:
    """`tuner status`'s values: the Summary (saved experiment, records, best) of one experiment,
    or of every experiment under the storage root."""
    from tuner.store import experiments, find_experiment, summarize

    if name is not None:
        return [summarize(find_experiment(located(name), storage))]
    return [summarize(d) for d in experiments(storage)[1]]


def status(name=None, *, storage: str | None = None):
    """`tuner status`: without a name, one row per experiment under the storage root; with
    one, one row per trial (status, epochs, the metric ± its standard error, the reason)."""
    import pandas as pd

    if name is not None:
        summary = summaries(name, storage=storage)[0]
        m = summary.spec.search.metric
        rows = [{"trial": r.trial, "status": str(r.status), "epochs": r.epochs,
                 m: r.best.get(m, math.nan), f"{m}_se": r.at_best.get(f"{m}_se", math.nan),
                 "reason": r.reason, "node": r.node} for r in summary.records]
        return pd.DataFrame(rows, columns=["trial", "status", "epochs", m, f"{m}_se", "reason",
                                           "node"])
    rows = []
    for summary in summaries(storage=storage):
        s, c, b = summary.spec.search, summary.counts, summary.best
        rows.append({"experiment": summary.folder.name, "trials": len(summary.records),
                     "samples": s.samples, "completed": c["completed"],
                     "stopped early": c["stopped early"], "running": c["running"],
                     "failed": c["errored"] + c["diverged"], "metric": s.metric,
                     "best": b.best[s.metric] if b else math.nan,
                     "best trial": b.trial if b else ""})
    return pd.DataFrame(rows, columns=["experiment", "trials", "samples", "completed",
                                       "stopped early", "running", "failed", "metric", "best",
                                       "best trial"])


def jobs(*, storage: str | None = None) -> tuple[Path, list]:
    """(the jobs file under the storage root, [(job record, its state on the cluster now)])
    of the jobs `tuner submit` recorded."""
    from tuner.jobs import JOBS_FILE, current_states

    root = storage_root(storage)
    return root / JOBS_FILE, current_states(root)


def space(what, *, where: str = "tuner.space"):
    """The search space of a module name ("cnn"), or of an experiment (file or
    tuner.Experiment) fitted to its data, as `tuner space` shows it; `print(...)` lists the
    priors and the derived ones' reasons."""
    from tuner.spaces import load_space

    if isinstance(what, str) and not what.endswith(".toml"):
        shown = load_space(what, where=where)
        return SpaceView(shown, _printed(shown, what))
    spec, derived = _fitted(as_experiment(what))
    shown = spec.space()
    lines = [d.line() for d in derived if d.key not in shown.priors]
    from tuner.console import space_label

    text = _printed(shown, f"{space_label(spec.space_module)} (+ overrides from {spec.path})",
                    derived)
    return SpaceView(shown, "\n".join([*lines, text]) if lines else text, derived)


def _fitted(exp) -> tuple:
    """(the experiment's spec fitted to its data, what was derived); an experiment made in
    Python reads its data from a temporary copy."""
    from tuner.auto import fit_to_data
    from tuner.data import load_spec_data

    if not exp.inputs:
        return fit_to_data(exp.spec, load_spec_data(exp.spec))
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tuner-space-") as tmp:
        exp.write_inputs(Path(tmp))
        spec = exp.with_inputs_in(Path(tmp))
        return fit_to_data(spec, load_spec_data(spec))


def _printed(space, label: str, derived=()) -> str:
    import io

    from tuner.console import print_space

    buf = io.StringIO()
    print_space(space, label, buf, derived)
    return buf.getvalue().rstrip("\n")


def report(name, *, storage: str | None = None, out: str | None = None) -> Path:
    """Write the HTML report of a search (name, folder or Result); returns the page's path."""
    from tuner.reporting import write_report
    from tuner.store import find_experiment
    from tuner.store.storage import remote_storage

    exp_dir = find_experiment(located(name), storage)
    page = write_report(exp_dir, Path(out) if out else None)
    remote = None if out else remote_storage(storage)
    if remote is not None:  # beside the experiment in its storage too
        remote.push(exp_dir, exp_dir.name, only=page.parent.name)
    return page


def board(name=None, *, storage: str | None = None, host: str = "127.0.0.1",
          port: int = 6006) -> Board:
    """Start TensorBoard in the background for one experiment (or all); `tuner board`.
    Returns a Board: `.url`, `.stop()`; in a notebook it shows as a link."""
    import subprocess

    from tuner.board_server import board_logdir, command, follow_storage, free_port

    logdir = board_logdir(None if name is None else located(name), storage)
    port = free_port(host, port)
    proc = subprocess.Popen(command(str(logdir), host, port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    follow_storage(name, storage, proc)
    return Board(f"http://{host}:{port}/", logdir, proc)
