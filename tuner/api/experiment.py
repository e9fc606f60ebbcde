"""`tuner.Experiment`: what an experiment file says, built in Python from your arrays, your
DataFrame or your model class; kept in the experiment's `inputs/` folder so every verb (and the
command line) reads it back."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tuner.errors import UserError, did_you_mean
from tuner.experiment import DATA_OPTIONS, NAME_RE, ExperimentSpec, Resources, SearchSpec
from tuner.user_code import INPUTS

_SEARCH = tuple(f.name for f in dataclasses.fields(SearchSpec))
_RESOURCES = tuple(f.name for f in dataclasses.fields(Resources))
_DATA = ("split", "folds", *DATA_OPTIONS)
_FACTORY_FORM = "a callable (config, input_shape, n_outputs) -> nn.Module"


class Experiment:
    """An experiment: what a TOML file says, built in Python.

    name      folder name under the storage root (letters, digits, '_', '-', '.')
    data      a built-in source ("digits", "sunspots", "airline"), a file path (.csv, .npz,
              .parquet), a [data] table as a dict ({"source": "aeon", "dataset": "GunPoint"}),
              arrays (X, y) or (X, y, lengths), or a pandas DataFrame (with target=...)
    model     "auto" (chosen from the data), a built-in factory ("cnn", "mlp", ...),
              "module:function", or any callable (config, input_shape, n_outputs) -> nn.Module,
              such as an nn.Module class defined in the notebook
    space     None (the factory's priors), a space module name, a SearchSpace, or a dict of
              priors (tuner.LogUniform(1e-4, 1e-2) or the TOML form {"loguniform": [...]}):
              overrides of the factory's space, or with your own model its whole space, to
              which the shared training priors (lr, batch_size, optimizer, ...) are added
    **settings  any [search] key (metric, samples, max_epochs, searcher, scheduler, seed, ...),
              [resources] key (cpu, gpu, device) or [data] key (split, folds, window, ...)
    """

    def __init__(self, name: str, *, data: Any = "digits", model: Any = "auto",
                 space: Any = None, target: str | None = None, description: str = "",
                 **settings: Any):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise UserError(f"Experiment: name: must be 1-100 letters, digits, '_', '-' or '.', "
                            f"starting with a letter or digit, but got {name!r}")
        self.name = name
        self.where = f"Experiment {name!r}"
        self.inputs: dict[str, Any] = {}  # file name in inputs/ -> what to write there
        raw: dict[str, Any] = {"name": name, "description": description,
                               "search": {}, "resources": {}}
        data_keys = self._settings(raw, settings)
        if target is not None:
            data_keys["target"] = target
        raw["data"] = self._data(data, data_keys)
        raw["model"] = {"factory": self._model(model)}
        raw["space"] = self._space(space, raw["model"]["factory"], model)
        from tuner.experiment import from_dict

        self.spec: ExperimentSpec = from_dict(raw, path=self.where)
        self.raw = raw

    @classmethod
    def from_file(cls, path: str | Path) -> Experiment:
        """The experiment a TOML file describes (`tuner.Experiment.from_file("x.toml")`)."""
        from tuner.experiment import load

        return _wrap(load(path))

    # -- building ---------------------------------------------------------------------------
    def _settings(self, raw: dict, settings: dict) -> dict:
        data = {}
        for k, v in settings.items():
            if k in _SEARCH:
                raw["search"][k] = v
            elif k in _RESOURCES:
                raw["resources"][k] = v
            elif k in _DATA:
                data[k] = list(v) if k == "split" else v
            else:
                raise UserError(
                    f"{self.where}: {k}: unknown setting"
                    f"{did_you_mean(k, (*_SEARCH, *_RESOURCES, *_DATA))}; it takes the [search] "
                    f"keys ({', '.join(_SEARCH)}), the [resources] keys "
                    f"({', '.join(_RESOURCES)}) and the [data] keys ({', '.join(_DATA)})")
        return data

    def _data(self, data: Any, keys: dict) -> dict:
        from tuner.data import SOURCES

        at = f"{self.where}: data"
        split = tuple(keys.get("split", (0.70, 0.15, 0.15)))
        if isinstance(data, dict):
            return {**data, **keys}
        if isinstance(data, (str, Path)):
            text = str(data)
            if text in SOURCES and text != "file":
                return {"source": text, **keys}
            return {"source": "file", "path": str(Path(text).expanduser().resolve()), **keys}
        from tuner.data import files

        options = {k: v for k, v in keys.items() if k not in ("split", "folds")}
        if _is_frame(data):
            files.from_frame(data, where=f"{self.where}: [data]", at=at, raw="the DataFrame",
                             name=self.name, options=options, task=options.get("task"),
                             split=split, seed=0)
            self.inputs["data.parquet"] = data
            return {"source": "file", "path": "{inputs}/data.parquet", **keys}
        if isinstance(data, (tuple, list)) and len(data) in (2, 3):
            extra = sorted(set(options) - {"task", "layout"})
            if extra:
                raise UserError(f"{self.where}: {extra[0]}: not used for arrays (X, y); they "
                                f"take task and layout (and split, folds)")
            files.from_arrays(*data, at=at, name=self.name, task=options.get("task"),
                              split=split, seed=0, layout=options.get("layout"))
            import numpy as np

            arrays = {"X": np.asarray(data[0]), "y": np.asarray(data[1])}
            if len(data) == 3 and data[2] is not None:
                arrays["lengths"] = np.asarray(data[2])
            self.inputs["data.npz"] = arrays
            return {"source": "file", "path": "{inputs}/data.npz", **keys}
        raise UserError(f"{at}: must be a data source name, a file path, a [data] dict, arrays "
                        f"(X, y) or a pandas DataFrame, but got {type(data).__name__}")

    def _model(self, model: Any) -> str:
        if isinstance(model, str):
            return model
        if not callable(model):
            raise UserError(f"{self.where}: model: must be a factory name ('auto', 'cnn', "
                            f"'mypkg.models:build') or {_FACTORY_FORM}, but got "
                            f"{type(model).__name__}")
        from tuner.models import check_signature

        label = getattr(model, "__name__", type(model).__name__)
        check_signature(model, label, where=f"{self.where}: model")
        return self._keep(model, "factory")

    def _keep(self, obj: Any, stem: str) -> str:
        from tuner.user_code import python_object_name

        name, blob = python_object_name(obj, stem)
        self.inputs[name.partition(":")[2]] = blob
        return name

    def _space(self, space: Any, factory: str, model: Any) -> dict:
        from tuner.spaces import Prior, SearchSpace

        own = callable(model) and not isinstance(model, str)
        if space is None:
            if own:
                raise UserError(
                    f"{self.where}: space: required with your own model; give its priors, e.g. "
                    f"space={{'units': tuner.IntRange(16, 256)}} (the training priors lr, "
                    f"batch_size, optimizer, ... are added)")
            return {}
        if isinstance(space, str):
            return {"module": space}
        if isinstance(space, SearchSpace):
            return {"module": self._keep(space, "space")}
        if not isinstance(space, dict):
            raise UserError(f"{self.where}: space: must be a space module name, a SearchSpace "
                            f"or a dict of priors, but got {type(space).__name__}")
        if not own:  # overrides of the factory's own space, in the TOML form
            return {k: v.to_dict() if isinstance(v, Prior) else v for k, v in space.items()}
        from searchspaces import common
        from tuner.spaces import PerLayer, When, prior_from_dict

        entries = dict(common.training())
        for k, v in space.items():
            where = f"{self.where}: space {k}"
            entries[k] = v if isinstance(v, (Prior, PerLayer, When)) else prior_from_dict(where, v)
        try:
            built = SearchSpace(entries, description=f"the space of {self.name}")
        except UserError as e:
            raise UserError(f"{self.where}: space: {e}") from None
        return {"module": self._keep(built, "space")}

    # -- using ------------------------------------------------------------------------------
    def with_inputs_in(self, exp_dir: Path) -> ExperimentSpec:
        """The spec with its inputs' paths in `exp_dir`."""
        if not self.inputs:
            return self.spec
        from tuner.experiment import from_dict

        raw = dict(self.raw)
        if "path" in raw["data"]:
            raw["data"] = {**raw["data"],
                           "path": raw["data"]["path"].replace("{inputs}",
                                                               str(exp_dir / INPUTS))}
        return from_dict(raw, path=self.where)

    def write_inputs(self, exp_dir: Path) -> None:
        folder = exp_dir / INPUTS
        folder.mkdir(parents=True, exist_ok=True)
        for f in folder.iterdir():  # an earlier run's objects, replaced (overwrite)
            if f.name not in self.inputs:
                f.unlink()
        for fname, what in self.inputs.items():
            target = folder / fname
            if isinstance(what, bytes):
                target.write_bytes(what)
            elif isinstance(what, dict):
                import numpy as np

                np.savez(target, **what)
            else:
                what.to_parquet(target, index=False)

    def __repr__(self) -> str:
        s = self.spec
        return (f"Experiment({self.name!r}, data={s.data.source!r}, model={s.factory!r}, "
                f"metric={s.search.metric!r}, samples={s.search.samples})")


def _wrap(spec: ExperimentSpec) -> Experiment:
    exp = Experiment.__new__(Experiment)
    exp.name, exp.where, exp.inputs, exp.spec, exp.raw = spec.name, spec.path, {}, spec, None
    return exp


def _is_frame(data) -> bool:
    mod = type(data).__module__
    return mod.startswith("pandas") and type(data).__name__ == "DataFrame"


def as_experiment(experiment) -> Experiment:
    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, ExperimentSpec):
        return _wrap(experiment)
    if isinstance(experiment, (str, Path)):
        return Experiment.from_file(experiment)
    raise UserError(f"experiment: must be a tuner.Experiment or an experiment file path, but "
                    f"got {type(experiment).__name__}")
