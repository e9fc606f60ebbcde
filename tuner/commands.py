"""One function per CLI verb: one library call (tuner.api) with the parsed arguments, and what
it returns printed. Nothing here reads the storage or decides anything."""

from __future__ import annotations

from contextlib import contextmanager

from tuner import api
from tuner.errors import UserError


def _flags(args) -> dict:
    from tuner.flags import overrides

    return overrides(args)


def cmd_run(args) -> int:
    with _joining(args.address):
        result = api.run(args.experiment, storage=args.storage, address=args.address,
                         overwrite=args.overwrite, warm_start=args.warm_start, top=args.top,
                         dry_run=args.dry_run, **_flags(args))
    return 0 if result is None else result.exit_code


def cmd_resume(args) -> int:
    with _joining(args.address):
        return api.resume(args.name, storage=args.storage, address=args.address).exit_code


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
    from tuner.jobs import sends_token

    job_id = api.submit(args.experiment, args.address, storage=args.storage,
                        overwrite=args.overwrite, **_flags(args))
    if args.follow:
        return api.follow(job_id, args.address, storage=args.storage)
    where = f" --storage {args.storage}" if args.storage else ""
    mode = "RAY_AUTH_MODE=token " if sends_token() else ""  # the Ray CLI sends it only so
    print(f"follow  {mode}ray job logs {job_id} --address {args.address} --follow")
    print(f"status  tuner status --jobs{where}")
    return 0


def cmd_space(args) -> int:
    print(api.space(args.name, where="tuner space"))
    return 0


def cmd_best(args) -> int:
    from tuner.store.toml import to_toml

    best = api.best(args.name, storage=args.storage, output=args.output)
    doc = best.document
    if args.output:
        print(f"wrote {args.output}: {doc['trial']}, {doc['metric']} {doc['value']:.4f} "
              f"at epoch {doc['best_epoch']}")
    else:
        print(to_toml(doc, f"Best trial of {doc['experiment']} ({best.folder})"), end="")
    return 0


def cmd_report(args) -> int:
    html = api.report(args.name, storage=args.storage, out=args.out)
    print(f"wrote {html} (open it in a browser; the figures are also beside it as PNGs)")
    return 0


def cmd_results(args) -> int:
    table = api.results(args.name, storage=args.storage, output=args.output)
    print(f"wrote {args.output}: {len(table)} trials from {table.attrs['folder']}")
    return 0


def cmd_status(args) -> int:
    if args.jobs:
        return print_jobs(args.storage, always=True)
    summaries = api.summaries(args.name, storage=args.storage)
    if not summaries:
        print(f"no experiments under {api.storage_name(args.storage)} yet; start one with "
              f"`tuner run FILE`")
        return print_jobs(args.storage)
    for summary in summaries:
        _print_summary(summary, trials=args.name is not None)
    return 0 if args.name else print_jobs(args.storage)


def _print_summary(summary, *, trials: bool) -> None:
    from tuner.console import noise

    s, c, best = summary.spec.search, summary.counts, summary.best
    shown = f"best {s.metric} {best.best[s.metric]:.4f} ({best.trial})" if best \
        else "no result yet"
    print(f"{summary.folder.name:<24} {len(summary.records)}/{s.samples} trials · "
          f"{c['completed']} completed · {c['stopped early']} stopped early · "
          f"{c['running']} running · {c['errored'] + c['diverged']} failed · {shown}")
    for r in summary.records if trials else ():
        v = r.best.get(s.metric)
        val = f"{v:.4f}{noise(r, s.metric)}" if v is not None else "-"
        on = f" on node {r.node}" if r.node and r.reason and r.status == "errored" else ""
        # the reason whole, its later lines indented under the trial
        why = (f"  {r.reason}{on}".replace("\n", "\n      ")) if r.reason else ""
        print(f"  {r.trial}  {r.status:<13} {r.epochs:>4} epochs  {s.metric} {val}{why}")


def print_jobs(storage, *, always: bool = False) -> int:
    """The jobs `tuner submit` recorded under the storage root, with their state asked of the
    cluster."""
    ledger, shown = api.jobs(storage=storage)
    if not shown:
        if always:
            print(f"no jobs recorded in {ledger}; submit one with "
                  f"`tuner submit FILE --address http://HEAD:8265`")
        return 0
    print(f"\njobs submitted from here ({ledger}):")
    for job, state in shown:
        when = str(job.get("submitted", "?")).replace("T", " ")
        print(f"  {job['job_id']:<28} {job.get('experiment', '?'):<24} {state:<10} "
              f"{job.get('address', '?')}  submitted {when}")
    return 0


def cmd_train(args) -> int:
    if args.experiment is None and args.config:
        raise UserError("tuner train: --config needs the experiment file it belongs to: "
                        "tuner train FILE --config CONFIG (or use --from NAME)")
    if args.config:
        final = api.train_final(args.experiment, config=args.config, epochs=args.epochs,
                                seeds=args.seeds, seed=args.seed, storage=args.storage,
                                out_dir=args.out, reference=args.reference)
    else:
        final = api.train_final(args.from_name, experiment=args.experiment,
                                epochs=args.epochs, seeds=args.seeds, seed=args.seed,
                                storage=args.storage, out_dir=args.out,
                                reference=args.reference)
    return 1 if final.diverged else 0


def cmd_predict(args) -> int:
    from tuner.prediction import read_texts

    for row in api.predict(args.model, read_texts(args.texts)):
        shown = " ".join(row["text"].split())
        print(f"{row['label']}\t{row['probability']:.3f}\t{shown[:70]}")
    return 0


def cmd_board(args) -> int:
    from tuner.board_server import serve

    return serve(args.name, storage=args.storage, host=args.host, port=args.port)
