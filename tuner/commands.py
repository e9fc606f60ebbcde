"""One function per CLI verb: turn parsed arguments into library calls and printed results."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tuner.errors import UserError


def _spec(path: str, args=None):
    from tuner.experiment import load

    spec = load(path)
    if args is None:
        return spec
    from tuner.flags import overrides

    return spec.with_overrides(**overrides(args))


def cmd_run(args) -> int:
    from tuner.driver import run

    spec = _spec(args.experiment, args)
    with _joining(args.address):
        return run(spec, storage=args.storage, address=args.address, overwrite=args.overwrite,
                   warm_start=args.warm_start, warm_top=args.top, dry_run=args.dry_run)


def cmd_resume(args) -> int:
    from tuner.driver import resume

    with _joining(args.address):
        return resume(args.name, storage=args.storage, address=args.address)


@contextmanager
def _joining(address: str | None):
    """A cluster that cannot be joined (none there, a missing or wrong token): one line."""
    try:
        yield
    except Exception as e:
        from tuner.jobs import cluster_error

        joining = isinstance(e, ConnectionError) or type(e).__name__ == "AuthenticationError"
        err = cluster_error(address, e) if address and joining else None
        if err is None:
            raise
        raise err from None


def cmd_submit(args) -> int:
    from tuner import jobs
    from tuner.store import storage_root

    spec = _spec(args.experiment, args)
    jobs.check_address(args.address)
    storage = storage_root(args.storage)
    exp_dir = storage / spec.name
    if (exp_dir / "experiment.json").exists() and not args.overwrite:
        raise UserError(
            f"{exp_dir}: an experiment named {spec.name!r} already exists; start another with "
            f"--name NEW_NAME, or replace it with --overwrite"
        )
    client, job_id = jobs.submit(spec, args.address, storage, _forwarded(args))
    if args.follow:
        return jobs.follow(client, job_id, storage)
    where = f" --storage {args.storage}" if args.storage else ""
    mode = "RAY_AUTH_MODE=token " if jobs.sends_token() else ""  # the Ray CLI sends it only so
    print(f"follow  {mode}ray job logs {job_id} --address {args.address} --follow")
    print(f"status  tuner status --jobs{where}")
    return 0


def _forwarded(args) -> list[str]:
    """The run flags given to `tuner submit`, for the job's `tuner run`."""
    from tuner.flags import forwarded

    return forwarded(args) + (["--overwrite"] if args.overwrite else [])


def cmd_space(args) -> int:
    from tuner.plan import print_space
    from tuner.spaces import load_space

    if args.name.endswith(".toml"):
        from tuner.auto import fit_to_data
        from tuner.data import load_spec_data

        spec = _spec(args.name)
        spec, derived = fit_to_data(spec, load_spec_data(spec))
        space = spec.space()
        for d in derived:  # the choices that are not priors: family, folds, budget
            if d.key not in space.priors:
                print(d.line())
        print_space(space, f"{spec.space_module} (+ overrides from {args.name})",
                    derived=derived)
    else:
        print_space(load_space(args.name, where="tuner space"), args.name)
    return 0


def _experiment(name: str, storage):
    from tuner.experiment import load_saved
    from tuner.store import find_experiment

    exp = find_experiment(name, storage)
    return exp, load_saved(exp)


def best_doc(name: str, storage):
    from tuner.store import best_document, best_record, load_records

    exp, spec = _experiment(name, storage)
    records = load_records(exp)
    best = best_record(records, spec.search.metric, spec.search.mode)
    if best is None:
        raise UserError(
            f"{name}: no trial has reported a result yet ({len(records)} trials); "
            f"check `tuner status {name}`"
        )
    return exp, spec, best_document(spec.name, best, spec.search.metric, spec.search.mode)


def cmd_best(args) -> int:
    from tuner.store import to_toml, write_best

    exp, spec, doc = best_doc(args.name, args.storage)
    if args.output:
        write_best(Path(args.output), doc)
        print(
            f"wrote {args.output}: {doc['trial']}, {doc['metric']} {doc['value']:.4f} "
            f"at epoch {doc['best_epoch']}"
        )
    else:
        print(to_toml(doc, f"Best trial of {spec.name} ({exp})"), end="")
    return 0


def cmd_report(args) -> int:
    from tuner.reporting import write_report
    from tuner.store import find_experiment

    exp = find_experiment(args.name, args.storage)
    html = write_report(exp, Path(args.out) if args.out else None)
    print(f"wrote {html} (open it in a browser; the figures are also beside it as PNGs)")
    return 0


def cmd_results(args) -> int:
    from tuner.store import export_table, find_experiment, load_records

    exp = find_experiment(args.name, args.storage)
    records = load_records(exp)
    export_table(Path(args.output), records)
    print(f"wrote {args.output}: {len(records)} trials from {exp}")
    return 0


def cmd_status(args) -> int:
    from tuner.experiment import load_saved
    from tuner.plan import noise
    from tuner.store import best_record, find_experiment, load_records, storage_root
    from tuner.tracking.progress import counts

    if args.jobs:
        return print_jobs(storage_root(args.storage), always=True)
    if args.name:
        exps = [find_experiment(args.name, args.storage)]
    else:
        root = storage_root(args.storage)
        exps = (
            sorted(d for d in root.glob("*") if (d / "experiment.json").exists())
            if root.is_dir()
            else []
        )
        if not exps:
            print(f"no experiments under {root} yet; start one with `tuner run FILE`")
            return print_jobs(root)
    for exp in exps:
        s = load_saved(exp).search.__dict__
        records = load_records(exp)
        c = counts(records)
        best = best_record(records, s["metric"], s["mode"])
        shown = (
            f"best {s['metric']} {best.best[s['metric']]:.4f} ({best.trial})"
            if best
            else "no result yet"
        )
        print(
            f"{exp.name:<24} {len(records)}/{s['samples']} trials · {c['completed']} completed · "
            f"{c['stopped early']} stopped early · {c['running']} running · "
            f"{c['errored'] + c['diverged']} failed · {shown}"
        )
        if args.name:
            for r in records:
                v = r.best.get(s["metric"])
                val = f"{v:.4f}{noise(r, s['metric'])}" if v is not None else "-"
                why = f"  {r.reason}" if r.reason else ""
                print(
                    f"  {r.trial}  {r.status:<13} {r.epochs:>4} epochs  {s['metric']} {val}{why}"
                )
    return 0 if args.name else print_jobs(root)


def print_jobs(root: Path, *, always: bool = False) -> int:
    """The jobs `tuner submit` recorded under `root`, with their state asked of the cluster."""
    from tuner.jobs import JOBS_FILE, current_states

    shown = current_states(root)
    if not shown:
        if always:
            print(f"no jobs recorded in {root / JOBS_FILE}; submit one with "
                  f"`tuner submit FILE --address http://HEAD:8265`")
        return 0
    print(f"\njobs submitted from here ({root / JOBS_FILE}):")
    for job, state in shown:
        when = str(job.get("submitted", "?")).replace("T", " ")
        print(f"  {job['job_id']:<28} {job.get('experiment', '?'):<24} {state:<10} "
              f"{job.get('address', '?')}  submitted {when}")
    return 0


def cmd_train(args) -> int:
    from tuner.final import train_final
    from tuner.store import read_config_file

    if args.experiment is None and args.config:
        raise UserError("tuner train: --config needs the experiment file it belongs to: "
                        "tuner train FILE --config CONFIG (or use --from NAME)")
    if args.config:
        spec = _spec(args.experiment)
        doc = read_config_file(args.config)
        where = args.config
    else:
        _, saved, doc = best_doc(args.from_name, args.storage)
        spec = _spec(args.experiment) if args.experiment else saved
        where = f"best config of {args.from_name}"
    if args.seed is not None:
        spec = spec.with_overrides(seed=args.seed)
    config = doc.get("config", doc)
    if not isinstance(config, dict):
        raise UserError(f"{where}: [config] must be a table of hyperparameters")
    epochs = args.epochs or doc.get("best_epoch")
    if epochs is None:
        raise UserError(f"{where}: has no best_epoch; pass --epochs N")
    return train_final(
        spec, config, int(epochs), where=where, storage=args.storage, out_dir=args.out,
        seeds=args.seeds,
    )


def cmd_board(args) -> int:
    from tuner.board_server import serve

    return serve(args.name, storage=args.storage, host=args.host, port=args.port)
