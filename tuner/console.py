"""What a run prints: its plan before Ray starts, the space, and the summary after it ends.

Each function formats what it is given (a Plan, a space, the records); none decides anything."""

from __future__ import annotations

import sys
from pathlib import Path

from tuner.store import load_records, storage_root
from tuner.vocabulary import Status

INTERRUPTED = 130  # the exit code of a search Ctrl-C stopped (resumable)


def space_label(module: str) -> str:
    """How a run names its space: the module, or "given in Python" for one built there."""
    from tuner.user_code import is_python_object

    return "given in Python" if is_python_object(module) else module


def print_plan(plan, out, warm=None) -> None:
    """What a run will do, printed before Ray starts: by `tuner run`, and by `--dry-run`
    instead of starting it."""
    spec, space, data, exp_dir, derived = plan.spec, plan.space, plan.data, plan.exp_dir, \
        plan.derived
    s, r = spec.search, spec.resources
    size = space.size()
    sched = "hyperband (BOHB)" if s.searcher == "bohb" else s.scheduler
    lines = [
        f"tuner: {spec.name} — {spec.description}".rstrip(" —"),
        f"  data   {data.summary()}",
        f"  space  {space_label(spec.space_module)}: {size['dimensions']} dimensions "
        f"({len(size['continuous'])} continuous), {size['discrete_combinations']:,} discrete "
        f"combinations",
        f"  search {s.samples} trials × ≤{s.max_epochs} epochs"
        f"{f' within {s.time_budget} s' if s.time_budget else ''}, {s.searcher} + {sched}, "
        f"{s.mode} {s.metric}, seed {s.seed}",
        f"  trials {r.cpu:g} CPU{f' + {r.gpu:g} GPU' if r.gpu else ''} each, device {r.device}",
        f"  output {exp_dir}" if plan.remote is None else
        f"  output {plan.remote.uri(spec.name)} (local copy: {exp_dir})",
    ]
    lines += [f"  auto   {d.line()}" for d in derived]
    note = None if spec.data.folds and spec.data.folds > 1 else batch_size_note(
        space, len(data.x_train))
    if note:
        lines.append(f"  note   {note}")
    if warm is not None:
        lines.append(f"  warm   {warm.summary()}")
    print("\n".join(lines), file=out)
    out.flush()


def print_space(space, name: str, out=None, derived=()) -> None:
    """The priors, one per line; those derived from the data say so, with the reason."""
    out = out or sys.stdout
    why = {d.key: d.reason for d in derived}
    size = space.size()
    print(f"space {name}: {space.description}".rstrip(": "), file=out)
    width = max(len(n) for n in space.priors)
    for n, p in space.priors.items():
        cond = f"   when {p.when}" if p.when else ""
        print(f"  {n:<{width}}  {p.describe()}{cond}", file=out)
        if n in why:
            print(f"  {'':<{width}}  ↳ from the data: {why[n]}", file=out)
    print(
        f"size: {size['discrete_combinations']:,} discrete combinations × "
        f"{len(size['continuous'])} continuous dimensions "
        f"({', '.join(size['continuous']) or 'none'}); {size['dimensions']} dimensions in all, "
        f"{size['always_active']} always active",
        file=out,
    )


def batch_size_note(space, n_train: int) -> str | None:
    """A hint when the largest batch size leaves two or fewer updates per epoch, else None.

    Small sets (a few hundred series) are common in this course's work; the shared prior's
    32-256 suits thousands of examples and would make most sampled trials barely train.
    """
    prior = space.priors.get("batch_size")
    if prior is None or not prior.discrete:
        return None
    largest = max(int(v) for v in prior.values())
    updates = -(-n_train // largest)
    if updates > 2:
        return None
    from searchspaces.common import largest_batch

    top = largest_batch(n_train)  # ≥ 4 updates per epoch
    suggest = ", ".join(str(b) for b in (top // 4, top // 2, top) if b >= 1)
    return (f"batch_size up to {largest} on {n_train} training examples leaves "
            f"{'only one update' if updates == 1 else f'{updates} updates'} per epoch; "
            f"smaller batches train more per epoch, e.g. in [space]: "
            f"batch_size = {{ choice = [{suggest}] }}")


def summary(exp_dir: Path, spec, wall_s: float, out, *, interrupted: bool = False,
            storage=None) -> int:
    """Print the end-of-run summary; 0 when some trial produced a result, 1 when none did,
    130 when Ctrl-C stopped the search (state saved for `tuner resume`). `storage`: the
    Remote of a URI's storage (the commands shown then name it)."""
    from tuner.store import best_record
    from tuner.tracking.progress import counts, short_config

    records = load_records(exp_dir)
    s = spec.search
    c = counts(records)
    best = best_record(records, s.metric, s.mode)
    unfinished = sum(not r.status.ended for r in records)
    print(
        f"\n{'interrupted after' if interrupted else 'done in'} {wall_s:.0f} s: "
        f"{len(records)} trials · {c[Status.COMPLETED]} completed · "
        f"{c[Status.STOPPED_EARLY]} stopped early · {c[Status.DIVERGED]} diverged · "
        f"{c[Status.ERRORED]} errored{f' · {unfinished} unfinished' if unfinished else ''}",
        file=out,
    )
    failed = [r for r in records if r.status.failed]
    for r in failed[:8]:
        where = f" (node {r.node})" if r.node and r.status == Status.ERRORED else ""
        print(f"  {r.trial} {r.status}{where}: {shortened(r.reason)}", file=out)
    if len(failed) > 8:
        print(f"  ... and {len(failed) - 8} more: tuner status {spec.name}", file=out)
    errored = [r for r in failed if r.status == Status.ERRORED]
    if errored:
        print(f"  full tracebacks: error.txt in each errored trial's folder, e.g. "
              f"{exp_dir / errored[0].trial / 'error.txt'}", file=out)
        for line in cluster_causes(errored):
            print(line, file=out)
    if interrupted:
        again = (f"{spec.name} --storage {storage.shown}" if storage is not None
                 else spec.name if exp_dir.parent.resolve() == storage_root(None).resolve()
                 else str(exp_dir))
        print(f"stopped by Ctrl-C; Ray Tune saved the experiment: finished trials are kept, "
              f"unfinished ones continue from their last checkpoint with\n"
              f"       tuner resume {again}", file=out)
        return INTERRUPTED
    if best is None:
        print(
            f"no trial produced a result: every trial diverged or errored; see the reasons "
            f"with `tuner status {spec.name}`",
            file=out,
        )
        return 1
    print(
        f"best   {best.trial}: {s.metric} {best.best[s.metric]:.4f}{noise(best, s.metric)} at "
        f"epoch {best.best_epoch[s.metric]} ({best.status}){ties(records, best, s)}",
        file=out,
    )
    print(f"       {short_config(best.config, 99)}", file=out)
    flag = f" --storage {storage.shown}" if storage is not None else ""
    print(f"next   tuner best {spec.name}{flag} -o best.toml", file=out)
    if Path(spec.path).is_file():
        print(f"       tuner train {spec.path} --config best.toml", file=out)
    else:  # built in Python: the saved experiment is what trains
        print(f"       tuner train --from {spec.name}{flag}   (in Python: "
              f"tuner.train_final({spec.name!r}))", file=out)
    if storage is not None:
        print(f"       tuner board {spec.name} --storage {storage.shown}   (all in "
              f"{storage.uri(spec.name)})", file=out)
    else:
        print(f"       tensorboard --logdir {exp_dir}", file=out)
    return 0


def shortened(reason: str, width: int = 240) -> str:
    """A reason on one line of at most `width` characters (`tuner status` shows it whole)."""
    flat = " ".join(reason.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


# what a trial's error says when the cluster, not the model, ended it: (cause, fix)
CLUSTER_CAUSES = (
    (("Unable to set up cluster storage", "No such file or directory", "Permission denied",
      "NoSuchBucket", "NO_SUCH_BUCKET", "AccessDenied", "ACCESS_DENIED"),
     "the storage", "give every node the same storage: a cloud URI (--storage s3://bucket/"
     "path) or a folder mounted at the same path on every node"),
    (("NodeDiedError", "node died", "ActorDiedError", "ActorUnavailableError", "RayActorError",
      "OwnerDiedError", "ObjectLostError", "WorkerCrashedError"),
     "a lost node", "the trials continue elsewhere with --max-failures N; check the node's "
     "health (`ray status` on the head)"),
    (("ModuleNotFoundError", "No module named"),
     "a missing module", "install the same packages on every node, or ship your project "
     "with `tuner submit` (Ray's working_dir)"),
)


def cluster_causes(errored) -> list[str]:
    """Closing lines for errored trials the cluster ended (storage, a lost node, a missing
    module): what, how many, on which nodes, and the fix."""
    lines = []
    for needles, cause, fix in CLUSTER_CAUSES:
        hit = [r for r in errored if any(n in r.reason for n in needles)]
        if hit:
            nodes = sorted({r.node for r in hit if r.node})
            on = f" on node {', '.join(nodes)}" if nodes else ""
            lines.append(f"cluster: {len(hit)} trial(s) failed because of {cause}{on}, not "
                         f"the model; {fix}")
    return lines


def noise(record, metric: str) -> str:
    """' ± se' of the metric at the trial's best epoch, when trials report one."""
    se = record.at_best.get(f"{metric}_se")
    return f" ± {se:.4f}" if isinstance(se, float) and se > 0 else ""


def ties(records, best, search) -> str:
    """How many other trials the leader's standard error cannot tell apart from it (the
    rule `best_record` chose by), or "" when none."""
    from tuner.store.best import tied_with_leader

    tied = tied_with_leader(records, search.metric, search.mode)
    if len(tied) < 2:
        return ""
    return (f"; {len(tied) - 1} other trial(s) within one standard error, a tie: chosen by "
            f"the lower val_loss")
