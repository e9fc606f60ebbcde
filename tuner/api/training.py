"""The verb that trains the final model: `train_final` (`tuner train`)."""

from __future__ import annotations

from pathlib import Path

from tuner.api.experiment import as_experiment
from tuner.api.results import located
from tuner.errors import UserError


def train_final(source, *, experiment=None, config: dict | str | Path | None = None,
                epochs: int | None = None, seeds: int | None = None, seed: int | None = None,
                storage: str | None = None, out_dir: str | None = None, out=None,
                reference: bool | None = None):
    """Final training on train+valid and one test evaluation; `tuner train`.

    `source`: the search (name, folder or Result) whose best config and epoch to train, or
    with `config=` (a dict of hyperparameters with `epochs=`, or a best.toml / .json file) an
    experiment to train that config on. Returns a Final: `.model` (the trained nn.Module),
    `.metrics` (test), `.folder`; with seeds > 1 `.model` is their ensemble, `.models` each
    seed's, `.mean` and `.sd` over the seeds (seeds=None: as many as cost at most a quarter of
    the search's trial epochs, up to 5, or 1 without a search in storage);
    `.diverged` says why training stopped, when it did; `.reference` the test figures of the
    off-the-shelf model fitted on the same rows (`reference=False` skips it; the default is
    $TUNER_REFERENCE, on unless "off")."""
    from tuner.final import train_final as train

    if seeds is not None and seeds < 1:
        raise UserError(f"train_final: seeds: must be at least 1, but got {seeds}; 1 trains one "
                        f"model")
    search_epochs = None
    if config is None:
        spec, config, epochs, where, search_epochs = _best_of_search(source, experiment, epochs,
                                                                     storage)
    else:
        exp = as_experiment(source)
        spec = exp.spec
        config, epochs, where = _given_config(config, epochs)
        if exp.inputs:
            from tuner.store import storage_root

            exp_dir = storage_root(storage) / spec.name
            exp.write_inputs(exp_dir)
            spec = exp.with_inputs_in(exp_dir)
        if seeds is None:
            search_epochs = _epochs_searched(spec.name, storage)
    if seed is not None:
        spec = spec.with_overrides(seed=seed)
    return train(spec, config, int(epochs), where=where, storage=storage, out_dir=out_dir,
                 out=out, seeds=seeds, reference=reference, search_epochs=search_epochs)


def _epochs_searched(name: str, storage) -> int | None:
    """The epochs every trial of the search `name` in storage ran, or None when there is none
    (what sizes the final ensemble when a config comes from a file)."""
    from tuner.store import load_records
    from tuner.store.storage import remote_storage, storage_root

    exp_dir = storage_root(storage) / name
    if remote_storage(storage) is not None or not exp_dir.is_dir():
        return None
    try:
        return sum(r.epochs for r in load_records(exp_dir)) or None
    except UserError:
        return None


def _best_of_search(source, experiment, epochs: int | None, storage) -> tuple:
    """(spec, config, epochs, where) of a search's best trial; the spec is the one the search
    saved unless `experiment` names another."""
    from tuner.store import best_of

    name = located(source)
    summary, doc = best_of(name, storage)
    spec = as_experiment(experiment).spec if experiment is not None else summary.spec
    shown = name if isinstance(source, (str, Path)) else summary.spec.name
    return (spec, doc["config"], epochs or doc.get("best_epoch"), f"best config of {shown}",
            sum(r.epochs for r in summary.records))


def _given_config(config, epochs: int | None) -> tuple:
    """(config, epochs, where) of a config given as a dict or as a file (best.toml / .json)."""
    if isinstance(config, dict):
        if epochs is None:
            raise UserError("train_final: config given without epochs; pass epochs=N")
        return config, epochs, "config"
    from tuner.store import read_config_file

    where = str(config)
    doc = read_config_file(config)
    table = doc.get("config", doc)
    if not isinstance(table, dict):
        raise UserError(f"{where}: [config] must be a table of hyperparameters")
    epochs = epochs or doc.get("best_epoch")
    if epochs is None:
        raise UserError(f"{where}: has no best_epoch; pass --epochs N")
    return table, epochs, where
