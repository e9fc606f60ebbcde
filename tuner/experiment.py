"""Experiment files: TOML → a validated, frozen ExperimentSpec (no Ray, no torch import).

Every error names the file, the key, the rule and the fix, on one line, before anything starts.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.checks import known_keys, section, typed
from tuner.errors import UserError, did_you_mean, parse_problem
from tuner.sections import (  # noqa: F401 (DATA_OPTIONS, DEVICES: re-exported)
    DATA_OPTIONS,
    DEVICES,
    NAME_RE,
    DataSpec,
    Resources,
    SearchSpec,
    data_section,
    logging_section,
    resources_section,
    search_section,
)
from tuner.vocabulary import MODES


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    path: str
    description: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    factory: str = "auto"  # "auto": chosen from the data (tuner.auto)
    # [model] keys beside factory: `weights` (the source's final/ folder, absolute) for finetune
    model_options: dict = field(default_factory=dict)
    space_module: str = "auto"
    space_overrides: dict = field(default_factory=dict)
    search: SearchSpec = field(default_factory=SearchSpec)
    resources: Resources = field(default_factory=Resources)
    # [logging] mlflow: an MLflow tracking URI (e.g. "sqlite:///mlflow.db"); "" = TensorBoard only
    mlflow: str = ""
    # the [search] keys the file (or a flag) set; the others tuner may derive from the data
    search_given: tuple = ()
    # where results go when no --storage is given: a folder or a URI ("" = $TUNER_STORAGE, or
    # ./results)
    storage: str = ""

    # the SearchSpace, built once per spec (by `space()`) and shared by its copies that change
    # only search or resources keys; not part of what the spec says
    _spaces: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def space(self, *, sources: bool = True):
        """The SearchSpace: the module's priors with this file's overrides; for the finetune
        factory fitted to its source model (`sources=False`: without reading the source).
        Built on the first call; later calls return the same object."""
        if sources not in self._spaces:
            self._spaces[sources] = self._build_space(sources)
        return self._spaces[sources]

    def _build_space(self, sources: bool):
        from tuner.spaces import load_space

        where = f"{self.path}: [space]"
        if self.space_module == "auto":  # pragma: no cover - a caller skipped fit_to_data
            raise ValueError("an automatic model's space depends on the data: resolve the "
                             "spec with tuner.auto.fit_to_data(spec, data) first")
        space = load_space(self.space_module, where=f"{where} module").override(
            self.space_overrides, where=where
        )
        if "pretrained" in self.model_options and "pretrained" in space.priors:
            space = space.override({"pretrained": self.model_options["pretrained"]},
                                   where=f"{self.path}: [model]")
        if sources and "weights" in self.model_options:
            from tuner.models.source import fit_space

            space = fit_space(space, self.model_options["weights"],
                              user_set=set(self.space_overrides), path=self.path)
        return space

    def with_overrides(self, **values: Any) -> ExperimentSpec:
        """A copy with command-line values (None = keep) for search keys and `cpu` / `gpu`
        per trial ([resources]), the sections they change validated again; the space, which
        they cannot change, is shared."""
        search = {k: v for k, v in dataclasses.asdict(self.search).items()
                  if k in self.search_given}
        resources = dict(dataclasses.asdict(self.resources))
        name = self.name
        for k, v in values.items():
            if v is None:
                continue
            if k == "name":
                if not isinstance(v, str) or not NAME_RE.match(v):
                    raise UserError(
                        f"command line: --name: must be 1-100 letters, digits, '_', '-' or '.', "
                        f"starting with a letter or digit, but got {v!r}"
                    )
                name = v
            elif k in {f.name for f in dataclasses.fields(SearchSpec)}:
                search[k] = v
            elif k in resources:
                resources[k] = v
            else:  # pragma: no cover - programming error in the CLI
                raise KeyError(k)
        if search.get("metric") in MODES and not values.get("mode"):
            search["mode"] = MODES[search["metric"]]  # follows the metric (file's or flag's)
        if values.get("max_epochs") and not values.get("grace_period"):
            # a shorter budget shrinks the grace period with it rather than failing
            search["grace_period"] = min(search.get("grace_period", self.search.grace_period),
                                         values["max_epochs"])
        raw = {"search": search, "resources": resources}
        copy = dataclasses.replace(
            self, name=name, search=search_section(raw, self.path, "command line"),
            resources=resources_section(raw, self.path, "command line"),
            search_given=tuple(sorted(search)))
        copy._spaces.update(self._spaces)
        return copy

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "data": {"source": self.data.source, "split": list(self.data.split),
                     **self.data.options,
                     **({} if self.data.folds is None else {"folds": self.data.folds})},
            "model": {"factory": self.factory, **self.model_options},
            "space": {"module": self.space_module, **self.space_overrides},
            "search": {k: v for k, v in dataclasses.asdict(self.search).items()
                       if k in self.search_given},
            "resources": dataclasses.asdict(self.resources),
            **({"logging": {"mlflow": self.mlflow}} if self.mlflow else {}),
            **({"storage": self.storage} if self.storage else {}),
        }


def load(path: str | Path) -> ExperimentSpec:
    """Read and validate an experiment file, e.g. `load("experiments/digits_cnn.toml")`."""
    import tomllib

    if not str(path).strip():
        raise UserError("experiment file: the path is empty; give a file such as "
                        "experiments/digits_cnn.toml")
    p = Path(path)
    if not p.exists():
        hint = ""
        if p.parent.exists():
            near = did_you_mean(p.name, [q.name for q in p.parent.glob("*.toml")])
            hint = near
        raise UserError(f"{path}: no such experiment file{hint}; see experiments/ for examples")
    if p.is_dir():
        raise UserError(
            f"{path}: is a directory; give an experiment file such as {path}/digits_cnn.toml"
        )
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: is not a UTF-8 text file; an experiment file is TOML") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read it ({e.strerror})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: is not valid TOML ({e}); fix the syntax at that line") from None
    except (ValueError, RecursionError) as e:  # a 5000-digit number, arrays nested 1000 deep
        raise UserError(f"{path}: is not valid TOML ({parse_problem(e)}); an experiment file "
                        f"holds short values, see experiments/ for examples") from None
    return from_dict(raw, path=str(path))


_TOP = ("name", "description", "storage", "data", "model", "space", "search", "resources",
        "logging")


def from_dict(raw: dict, *, path: str, where_prefix: str | None = None,
              sources: bool = True) -> ExperimentSpec:
    """Validate a parsed experiment (see `load`); `sources=False` takes a finetune source
    folder as given, unread (a saved experiment whose source may have moved since).
    `where_prefix` ("command line") names flags instead of file keys in the messages."""
    if not isinstance(raw, dict):
        raise UserError(f"{path}: an experiment must be a TOML table, but got {raw!r}")
    known_keys(raw, _TOP, f"{path}: ")
    name = raw.get("name", Path(path).stem)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UserError(
            f"{path}: name: must be 1-100 letters, digits, '_', '-' or '.', starting with a "
            f"letter or digit, but got {name!r}"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{path}: description: must be a string, but got {description!r}")
    storage = raw.get("storage", "")
    if not isinstance(storage, str):
        raise UserError(f"{path}: storage: must be a folder path or a URI such as "
                        f"\"s3://bucket/path\", but got {storage!r}")
    data = data_section(raw, path)
    factory, model_options = _model(raw, path, sources)
    module, overrides = _space(raw, path, factory)
    spec = ExperimentSpec(
        name=name, path=path, description=description, data=data, factory=factory,
        model_options=model_options, space_module=module, space_overrides=overrides,
        search=search_section(raw, path, where_prefix),
        resources=resources_section(raw, path, where_prefix),
        mlflow=logging_section(raw, path),
        search_given=tuple(sorted(raw.get("search") or {})),
        storage=storage,
    )
    if module != "auto":  # an automatic model's space waits for the data (tuner.auto)
        spec.space(sources=sources)  # validates the module and every override now
    else:  # its names wait for the module the data picks; each prior's form is checked now
        from tuner.spaces import prior_from_dict

        for k in sorted(overrides):
            prior_from_dict(f"{path}: [space] {k}", overrides[k])
    return spec


def _model(raw: dict, path: str, sources: bool) -> tuple[str, dict]:
    from tuner.models import FAMILIES, check_factory, is_user_factory
    from tuner.user_code import is_python_object

    m = section(raw, "model", path, {"factory": 0, "weights": 0, "pretrained": 0})
    factory = typed(m, "factory", "auto", f"{path}: [model] factory")
    if factory == "auto":  # chosen from the data when it is loaded (tuner.auto)
        pass
    elif is_python_object(factory) and not sources:  # saved: loaded where used (train, resume)
        pass
    elif is_user_factory(factory):  # your own function: imported and checked here, before Ray
        check_factory(factory, where=f"{path}: [model] factory")
    elif factory not in FAMILIES:
        raise UserError(
            f"{path}: [model] factory: unknown model factory {factory!r}"
            f"{did_you_mean(factory, sorted(FAMILIES))}; choose one of "
            f"{', '.join(sorted(FAMILIES))}, \"auto\" (chosen from the data), or name your "
            f"own as 'module:function' (e.g. 'mypkg.models:build')"
        )
    from tuner.models.source import model_options

    return factory, model_options(m, factory, path, sources)


def _space(raw: dict, path: str, factory: str) -> tuple[str, dict]:
    from tuner.models import is_user_factory, space_module_of

    s = raw.get("space", {})
    if not isinstance(s, dict):
        raise UserError(f"{path}: [space] must be a table, but got {s!r}")
    s = dict(s)
    if "module" not in s and is_user_factory(factory):
        raise UserError(
            f"{path}: [space] module: required with your own factory {factory!r}; name the "
            f"module that defines its space(), e.g. module = \"mypkg.spaces\""
        )
    module = s.pop("module", space_module_of(factory))
    if not isinstance(module, str):
        raise UserError(f"{path}: [space] module: must be a string, but got {module!r}")
    return module, s


SAVED = "experiment.json"


def save_spec(spec: ExperimentSpec, exp_dir: Path) -> None:
    """Keep the validated experiment beside its results (with the file it came from)."""
    doc = {"file": spec.path, "experiment": spec.to_dict()}
    (Path(exp_dir) / SAVED).write_text(json.dumps(doc, indent=2) + "\n")


def load_saved(exp_dir: Path) -> ExperimentSpec:
    """The ExperimentSpec saved by `save_spec`; its path is the original experiment file."""
    f = Path(exp_dir) / SAVED
    fix = "tuner wrote it: restore it, or run the experiment again with --overwrite"
    try:
        doc = json.loads(f.read_text())
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        reason = e.strerror if isinstance(e, OSError) else f"not JSON: {parse_problem(e)}"
        raise UserError(f"{f}: unreadable saved experiment ({reason}); {fix}") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("file"), str)
            and isinstance(doc.get("experiment"), dict)):
        raise UserError(f'{f}: must hold {{"file": PATH, "experiment": {{...}}}}; {fix}')
    from tuner.user_code import load_python_objects

    load_python_objects(exp_dir)  # a factory or space made in Python, kept in inputs/
    # errors name this file (its keys are the experiment file's), the spec keeps the original
    raw = {"name": Path(exp_dir).name, **doc["experiment"]}
    # `tuner status` and `tuner best` need no finetune source; `train` and `resume` check it
    return dataclasses.replace(from_dict(raw, path=str(f), sources=False), path=doc["file"])
