"""Fuzzing bad input: every malformed experiment file or command line ends with exit 2 and one
line on stderr that names the problem, before Ray starts and without writing a file.

Cases are generated with hypothesis (derandomized, so CI sees the same cases every run), mostly
by breaking one thing in a valid shipped experiment, so that they reach deep validation (priors,
data options, task and metric) instead of failing at the first key. `-s` prints the count:

    .venv/bin/python -m pytest tests/test_fuzz_inputs.py -q -s
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import random
import re
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tuner.cli import build_parser, main
from tuner.experiment import DATA_OPTIONS, DEVICES, NAME_RE, load, save_spec
from tuner.search import SCHEDULERS, SEARCHERS
from tuner.spaces import Fixed, load_space
from tuner.spaces.space import PerLayer, When
from tuner.store import TrialRecord, save_records
from tuner.vocabulary import MODES as METRICS

REPO = Path(__file__).resolve().parents[1]
BASES = {
    p.stem: tomllib.loads(p.read_text()) for p in sorted((REPO / "experiments").glob("*.toml"))
}
FAST = ("digits_cnn", "digits_mlp", "sunspots_forecast")  # bases whose data loads in ms
SECTIONS = ("data", "model", "space", "search", "resources")
SOURCES_USE = {  # the [data] keys each base's source reads
    "digits": ("classes",),
    "sunspots": ("window", "horizon", "transform"),
    "aeon": ("dataset", "valid", "normalize"),
    "file": ("path", "task", "size"),  # photos_transfer: a folder of photos
}
TASK_METRICS = {  # what each base's task reports (and what it does not)
    "classification": ("accuracy", "f1", "precision", "recall"),
    "forecasting": ("mae", "rmse", "mase"),
}
SEARCH_INTS = {  # [search] integer keys and their allowed ranges (None: up to max_epochs)
    "samples": (1, 100_000),
    "max_epochs": (1, 100_000),
    "seed": (0, 2**32 - 1),
    "grace_period": (1, None),
    "reduction_factor": (2, 100),
    "max_concurrent": (0, 10_000),
    "initial_points": (0, 100_000),
    "max_failures": (0, 1000),
    "time_budget": (0, 10**8),
}
SEARCH_NAMES = {
    "searcher": SEARCHERS,
    "scheduler": SCHEDULERS,
    "metric": tuple(METRICS),
    "mode": ("min", "max"),
}
RESOURCE_FLOATS = {"cpu": (0.01, 1024), "gpu": (0, 64)}
# names that exist as modules but are no model factory or search space
NOT_FACTORIES = ("json:nothing_here", "json:__name__", "os.path:sep", "os:getcwd", "json",
                 "tuner.models.cnn", "no_such_pkg_zq.models:build", "tuner.models.cnn:build:x",
                 "mypkg.models:", ":build", "my-pkg.models:build", "..models:build", "cnn:build")
NOT_SPACES = ("json.decoder", "tuner.errors", "searchspaces.common", "no_such_pkg_zq.spaces",
              "..cnn", ".cnn", "cnn.", "a..b", "searchspaces/cnn.py", "searchspaces.cnn:space",
              "my-pkg.spaces", "common", "__init__")

CASES: Counter = Counter()  # test name -> cases that ran, for the total at the end
QUOTA = {  # max_examples per test; together well over 1000, in about 30 s on 2 cores
    "test_mutated_experiment_files": 900,
    "test_garbage_experiment_files": 250,
    "test_bad_run_flags": 400,
    "test_bad_train_arguments": 250,
    "test_bad_saved_experiments": 300,
}
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.too_slow,
    ],
)


def to_toml(raw: dict) -> str:
    import tomli_w

    return tomli_w.dumps(raw)


def test_the_writer_round_trips_every_shipped_experiment():
    for raw in BASES.values():
        assert tomllib.loads(to_toml(raw)) == raw


# -- running one case -----------------------------------------------------------------------------


def _tree(*roots: Path) -> dict:
    """Every path under the roots with (size, mtime) for files: what 'nothing written' compares."""
    seen = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for n in dirs:
                seen[os.path.join(folder, n)] = "dir"
            for n in files:
                s = os.lstat(os.path.join(folder, n))
                seen[os.path.join(folder, n)] = (s.st_size, s.st_mtime_ns)
    return seen


def _ray_up() -> bool:
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Read-only inputs every case may point at: a valid best config and a tuned experiment."""
    root = tmp_path_factory.mktemp("shared")
    from tuner.auto import fit_to_data
    from tuner.data import load_spec_data

    spec = load(REPO / "experiments" / "digits_cnn.toml")
    spec = fit_to_data(spec, load_spec_data(spec))[0]  # the space `tuner train` checks against
    config = spec.space().sample(random.Random(0))
    (root / "best.toml").write_text(to_toml({"best_epoch": 3, "config": config}))
    store = root / "store"
    exp = store / "digits_cnn"
    exp.mkdir(parents=True)
    save_spec(spec, exp)
    record = TrialRecord("trial_001", "a1", config, status="completed", epochs=4,
                         best={"accuracy": 0.9, "val_loss": 0.3}, best_epoch={"accuracy": 3},
                         at_best={"accuracy": 0.9, "val_loss": 0.3})
    save_records(exp, [record])
    empty = store / "untried"  # an experiment without a single trial yet
    empty.mkdir()
    save_spec(spec, empty)
    return {"root": root, "config": config, "best": root / "best.toml", "store": store,
            "spec": spec, "source": finetune_source(root / "digits04_cnn" / "final")}


def finetune_source(folder: Path) -> Path:
    """What `tuner train` writes for a cnn (untrained weights will do): the shipped finetune
    experiment's [model] weights points here, so only its mutation is wrong in a case."""
    import torch

    from tuner.models import build_model
    from tuner.store import to_toml as write_toml

    config = {"conv_blocks": 2, "filters_1": 8, "filters_2": 8, "kernel_size": 3,
              "batch_norm": True, "dense_units": 16, "activation": "relu", "dropout": 0.0}
    folder.mkdir(parents=True)
    torch.save(build_model("cnn", config, (1, 8, 8), 5).state_dict(), folder / "model.pt")
    (folder / "config.toml").write_text(write_toml(
        {"experiment": "digits04_cnn", "factory": "cnn", "input_shape": [1, 8, 8],
         "classes": ["0", "1", "2", "3", "4"], "config": config}, "a test source"))
    return folder


@pytest.fixture
def guard(monkeypatch, shared, tmp_path):
    """Fail any case that gets as far as starting Ray or training a model."""

    def started(*args, **kwargs):
        raise AssertionError("bad input was accepted: Ray was about to start")

    def trained(*args, **kwargs):
        raise AssertionError("bad input was accepted: final training was about to start")

    import tuner.driver
    import tuner.training.build

    monkeypatch.setattr(tuner.driver, "init_ray", started)
    monkeypatch.setattr(tuner.training.build, "build_training", trained)
    default_store = tmp_path / "default-store"  # $TUNER_STORAGE: must never appear either
    monkeypatch.setenv("TUNER_STORAGE", str(default_store))
    monkeypatch.chdir(tmp_path)
    return {"tmp": tmp_path, "default_store": default_store}


@contextlib.contextmanager
def workdir(guard):
    """A fresh, empty working folder per case (the current directory while it runs)."""
    work = Path(tempfile.mkdtemp(dir=guard["tmp"], prefix="case-"))
    old = os.getcwd()
    os.chdir(work)
    try:
        yield work
    finally:
        os.chdir(old)


def rejected(capfd, work: Path, shared, argv: list[str], expect=(), test: str = "") -> str:
    """Run `tuner argv`: exit 2, one non-empty line naming the problem, nothing written."""
    CASES[test] += 1
    watched = (work, shared["root"])
    before = _tree(*watched)
    ray_before = _ray_up()
    capfd.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own exits (--help) would land here
        code = e.code
    out, err = capfd.readouterr()
    case = f"tuner {' '.join(map(repr, argv))}\nstdout: {out!r}\nstderr: {err!r}"
    assert "Traceback" not in out + err, case
    assert code == 2, case
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip() and err.endswith("\n"), case
    line = lines[0]
    assert line.startswith("tuner: error: ") and len(line) > len("tuner: error: ") + 10, case
    for part in expect:
        assert part in line, f"{part!r} missing from the message\n{case}"
    assert _tree(*watched) == before, f"a file was written\n{case}"
    assert not (work / "store").exists(), f"--storage was created\n{case}"
    assert not Path(os.environ["TUNER_STORAGE"]).exists(), f"$TUNER_STORAGE was created\n{case}"
    assert not (work / "results").exists(), case
    assert _ray_up() == ray_before, f"Ray started\n{case}"
    return line


# -- value strategies -----------------------------------------------------------------------------

TEXT = st.text(max_size=16)
IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True)
SCALAR = st.one_of(
    TEXT,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(IDENT, inner, max_size=3)),
    max_leaves=6,
)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return (is_int(v) or isinstance(v, float)) and math.isfinite(v)


def wrong_type(kind: str):
    """Values that are not of `kind` ('int', 'float' (any finite number) or 'str')."""
    fits = {"int": is_int, "float": is_number, "str": lambda v: isinstance(v, str)}[kind]
    return VALUE.filter(lambda v: not fits(v))


def typo(valid):
    """Near misses of valid names (one character off, other case) and unrelated text."""
    near = st.builds(
        lambda name, i, c: name[:i % (len(name) + 1)] + c + name[i % (len(name) + 1) + 1:],
        st.sampled_from(list(valid)), st.integers(0, 20), st.sampled_from("xs_ -.0"),
    )
    cased = st.sampled_from([v.upper() for v in valid] + [f" {v}" for v in valid])
    return st.one_of(near, cased, TEXT).filter(lambda v: v not in valid)


def out_of(lo, hi):
    below = st.integers(min_value=-(10**20), max_value=lo - 1)
    return below if hi is None else st.one_of(below, st.integers(hi + 1, hi + 10**20))


def space_of(raw: dict):
    module = raw.get("space", {}).get("module", raw.get("model", {}).get("factory", "cnn"))
    return load_space(module)


def base_prior(entry):
    return entry.prior if isinstance(entry, (PerLayer, When)) else entry


def kind_of(prior) -> str:
    values = prior.values() if prior.discrete else [prior.low, prior.high]
    if any(isinstance(v, (str, bool)) for v in values):
        return "categorical"
    return "int" if all(is_int(v) for v in values) else "float"


# -- mutations of a valid experiment: each one makes it invalid by construction -------------------
# A mutation returns what the message must name. The problems m_* put in a file are found by
# every verb that reads it; m_data's only by `tuner run` (which loads the data).


def m_wrong_type(draw, raw):
    sec, key, kind = draw(st.sampled_from(
        [(None, "name", "str"), (None, "description", "str"), ("data", "source", "str"),
         ("model", "factory", "str"), ("space", "module", "str"),
         ("resources", "device", "str"), ("resources", "cpu", "float"),
         ("resources", "gpu", "float")]
        + [("search", k, "int") for k in SEARCH_INTS]
        + [("search", k, "str") for k in SEARCH_NAMES]
    ))
    value = draw(wrong_type(kind))
    if sec is None:
        raw[key] = value
        return [key]
    raw.setdefault(sec, {})[key] = value
    return [f"[{sec}] {key}"]


def m_bad_split(draw, raw):
    frac = st.floats(min_value=-2, max_value=2, allow_nan=False)
    split = draw(st.one_of(
        wrong_type("str").filter(lambda v: not isinstance(v, list)),
        st.lists(frac, max_size=6).filter(lambda v: len(v) != 3),
        st.lists(VALUE, min_size=3, max_size=3).filter(lambda v: not all(map(is_number, v))),
        st.lists(frac, min_size=3, max_size=3).filter(
            lambda v: not all(0 < f < 1 for f in v) or abs(sum(v) - 1) > 1e-6),
    ))
    raw.setdefault("data", {})["split"] = split
    return ["[data] split"]


def m_out_of_range(draw, raw):
    search = raw.setdefault("search", {})
    key = draw(st.sampled_from([*SEARCH_INTS, *RESOURCE_FLOATS]))
    if key in RESOURCE_FLOATS:
        lo, hi = RESOURCE_FLOATS[key]
        raw.setdefault("resources", {})[key] = draw(st.one_of(
            st.floats(max_value=lo, exclude_max=True, allow_nan=False),
            st.floats(min_value=hi, exclude_min=True, allow_nan=False),
            st.integers(max_value=math.ceil(lo) - 1), st.integers(min_value=hi + 1),
        ))
        if key == "gpu" and raw["resources"].get("device") == "cpu":
            del raw["resources"]["device"]  # otherwise the cpu/gpu clash is reported first
        return [f"[resources] {key}"]
    lo, hi = SEARCH_INTS[key]
    if key == "grace_period":
        hi = search.get("max_epochs", 20)
    search[key] = draw(out_of(lo, hi))
    if key == "max_epochs":  # a grace period beyond it would be reported first
        search.pop("grace_period", None)
    return [f"[search] {key}"]


def m_unknown_name(draw, raw):
    what = draw(st.sampled_from(["search", "device", "source", "factory", "module", "name",
                                 "mode_against_metric"]))
    if what == "search":
        key = draw(st.sampled_from(sorted(SEARCH_NAMES)))
        raw.setdefault("search", {})[key] = draw(typo(SEARCH_NAMES[key]))
        if key == "metric":
            raw["search"].pop("mode", None)
        return [f"[search] {key}"]
    if what == "mode_against_metric":
        metric = draw(st.sampled_from(sorted(METRICS)))
        raw.setdefault("search", {}).update(metric=metric,
                                            mode="min" if METRICS[metric] == "max" else "max")
        return ["[search] mode", metric]
    if what == "device":
        raw.setdefault("resources", {})["device"] = draw(typo(DEVICES + ("gpu",)))
        return ["[resources] device"]
    if what == "source":
        from tuner.data import SOURCES

        raw.setdefault("data", {})["source"] = draw(typo(tuple(SOURCES)))
        return ["[data] source"]
    if what == "factory":
        from tuner.models import FACTORIES

        raw.setdefault("model", {})["factory"] = draw(
            st.one_of(st.sampled_from(NOT_FACTORIES), typo(tuple(FACTORIES))))
        raw.setdefault("space", {}).setdefault("module", "cnn")
        return ["[model] factory"]
    if what == "module":
        from tuner.spaces import SPACES

        raw.setdefault("space", {})["module"] = draw(
            st.one_of(st.sampled_from(NOT_SPACES), typo(tuple(SPACES.names()))))
        return ["[space] module"]
    raw["name"] = draw(st.one_of(
        st.sampled_from(["", ".hidden", "../up", "a/b", "a b", "-x", "x" * 101, "é"]),
        TEXT.filter(lambda s: not NAME_RE.match(s)),
    ))
    return ["name"]


def m_unknown_key(draw, raw):
    where = draw(st.sampled_from([None, *SECTIONS]))
    if where == "space":
        known = set(space_of(raw).entries) | set(space_of(raw).priors) | {"module"}
    elif where is None:
        known = {"name", "description", *SECTIONS}
    elif where == "data":
        known = {"source", "split", *DATA_OPTIONS}
    else:
        known = {"model": {"factory", "weights"}, "resources": {"cpu", "gpu", "device"},
                 "search": set(SEARCH_INTS) | set(SEARCH_NAMES)}[where]
    key = draw(st.one_of(IDENT, TEXT.filter(str.strip)).filter(lambda k: k not in known))
    value = draw(VALUE)
    if where is None:
        raw[key] = value
    else:
        if not isinstance(raw.get(where, {}), dict):
            raw[where] = {}
        raw.setdefault(where, {})[key] = value
    named = re.fullmatch(r"[a-z][a-z0-9_]*", key)
    return [key] if named else []


def m_section_type(draw, raw):
    sec = draw(st.sampled_from(SECTIONS))
    raw[sec] = draw(VALUE.filter(lambda v: not isinstance(v, dict)))
    return [f"[{sec}]"]


def m_misplaced(draw, raw):
    """A key in the wrong section: what a missing or misplaced section header does."""
    homes = {("search", k) for k in raw.get("search", {})} | {
        (s, k) for s in ("data", "model", "resources") for k in raw.get(s, {})}
    homes |= {(None, k) for k in ("name", "description") if k in raw}
    homes |= {("space", k) for k in raw.get("space", {})}
    assume(homes)
    sec, key = draw(st.sampled_from(sorted(homes, key=str)))
    to = draw(st.sampled_from([s for s in (None, *SECTIONS) if s != sec]))
    if to == "space" and key in space_of(raw).entries:
        to = "search"
    allowed = {None: {"name", "description", *SECTIONS}, "data": {"source", "split",
               *DATA_OPTIONS}, "model": {"factory", "weights"},
               "resources": {"cpu", "gpu", "device"},
               "search": set(SEARCH_INTS) | set(SEARCH_NAMES), "space": set()}[to]
    assume(key not in allowed and key not in SECTIONS)
    value = raw[key] if sec is None else raw[sec].pop(key)
    if sec is None:
        del raw[key]
    if sec == "space" and key == "module":  # the overrides no longer match: keep the module
        raw["space"]["module"] = value
    if to is None:
        raw[key] = value
    else:
        raw.setdefault(to, {})[key] = value
    return [key]


def m_bad_prior(draw, raw):
    space = space_of(raw)
    key = draw(st.sampled_from(sorted(space.entries)))
    entry = space.entries[key]
    kind = kind_of(base_prior(entry))
    num = st.floats(allow_nan=True, allow_infinity=True)
    malformed = st.one_of(
        st.dictionaries(IDENT.filter(lambda k: k not in ("uniform", "loguniform", "int",
                                                         "choice")), VALUE, min_size=1,
                        max_size=2),
        st.fixed_dictionaries({"uniform": VALUE, "int": VALUE}),
        st.fixed_dictionaries({"uniform": st.lists(num, max_size=4).filter(
            lambda v: len(v) != 2 or not all(map(math.isfinite, v)) or v[0] >= v[1])}),
        st.fixed_dictionaries({"uniform": st.lists(VALUE, min_size=2, max_size=2).filter(
            lambda v: not all(map(is_number, v)))}),
        st.fixed_dictionaries({"loguniform": st.tuples(
            st.floats(max_value=0, allow_nan=False), st.floats(0.1, 10)).map(list)}),
        st.fixed_dictionaries({"uniform": st.tuples(st.integers(0, 5), st.floats(0, 1)).map(
            list), "step": VALUE}),
        st.fixed_dictionaries({"int": st.tuples(st.integers(-100, 100), st.integers(-100, 100))
                               .filter(lambda v: v[0] > v[1]).map(list)}),
        st.fixed_dictionaries({"int": st.lists(VALUE, min_size=2, max_size=2).filter(
            lambda v: not all(map(is_int, v)))}),
        st.fixed_dictionaries({"int": st.just([1, 65]), "step": st.one_of(
            st.integers(max_value=0), st.integers(5, 7), wrong_type("int"))}),
        st.fixed_dictionaries({"int": st.just([0, 8]), "log": st.just(True)}),
        st.fixed_dictionaries({"int": st.just([1, 8]), "log": VALUE.filter(
            lambda v: not isinstance(v, bool))}),
        st.fixed_dictionaries({"int": st.just([0, 10**9])}),
        st.fixed_dictionaries({"choice": st.one_of(
            st.just([]), VALUE.filter(lambda v: not isinstance(v, list)),
            st.lists(st.one_of(st.lists(SCALAR, max_size=2), st.dictionaries(IDENT, SCALAR)),
                     min_size=1, max_size=3),
            st.sampled_from([["a", "a"], [1, 1, 2], [True, True]]))}),
        st.lists(VALUE, max_size=3),
        st.dates(),
    )
    # values of the wrong kind for this hyperparameter (the space module's prior decides)
    if kind == "categorical":
        options = list(base_prior(entry).values())
        other = SCALAR.filter(lambda v: not any(type(v) is type(o) and v == o for o in options))
        if isinstance(base_prior(entry), Fixed):  # a fixed value takes any other of its type
            other = SCALAR.filter(lambda v: not any(type(v) is type(o) for o in options))
        wrong = st.one_of(other, st.builds(lambda v: {"choice": [options[0], v]}, other))
    elif kind == "int":
        wrong = st.one_of(
            st.floats(allow_nan=False).filter(lambda v: not float(v).is_integer()),
            TEXT, st.booleans(), st.just({"uniform": [1, 4]}), st.just({"choice": [1, "2"]}))
    else:
        wrong = st.one_of(TEXT, st.booleans(), st.just({"choice": [0.1, "x"]}))
    if kind in ("int", "float"):
        low = min(base_prior(entry).values()) if base_prior(entry).discrete else \
            base_prior(entry).low
        if low > 0:
            wrong = st.one_of(wrong, st.integers(-(10**6), 0),
                              st.floats(-1e6, 0), st.just({"choice": [-1, 2]}))
        elif low == 0:
            wrong = st.one_of(wrong, st.integers(-(10**6), -1), st.floats(-1e6, -1e-3))
    raw.setdefault("space", {})[key] = draw(st.one_of(malformed, wrong))
    return ["[space]", key]


def m_drop_then(draw, raw, mutation):
    """A missing section (its defaults apply) plus one broken key elsewhere."""
    drop = draw(st.sampled_from([s for s in ("data", "search", "resources") if s in raw]))
    del raw[drop]
    return mutation(draw, raw)


FILE_MUTATIONS = [m_wrong_type, m_bad_split, m_out_of_range, m_unknown_name, m_unknown_key,
                  m_section_type, m_misplaced, m_bad_prior]


def m_data(draw, raw, base: str, work: Path):
    """Problems only loading the data (or matching it to factory and metric) can find."""
    data = raw.setdefault("data", {})
    source = data.get("source", "digits")
    what = draw(st.sampled_from(["unused_key", "source_option", "file", "metric", "factory"]))
    if what == "unused_key":
        key = draw(st.sampled_from([k for k in DATA_OPTIONS if k not in SOURCES_USE[source]]))
        data[key] = draw(VALUE)
        return [f"[data] {key}"]
    if what == "source_option" and source == "sunspots":
        key = draw(st.sampled_from(["window", "horizon", "transform"]))
        if key == "transform":
            data[key] = draw(typo(("none", "sqrt", "log")).filter(lambda v: v not in ("none",
                                                                                      "sqrt",
                                                                                      "log")))
        else:
            data[key] = draw(st.one_of(st.integers(max_value=0), st.integers(250, 10**12),
                                       wrong_type("int")))
        return ["[data]", key]
    if what == "source_option" and source == "aeon":
        key = draw(st.sampled_from(["dataset", "valid", "normalize"]))
        if key == "dataset":
            data[key] = draw(st.one_of(typo(("JapaneseVowels", "BasicMotions")),
                                       wrong_type("str"), st.just("../../etc/passwd")))
        elif key == "normalize":
            data[key] = draw(st.one_of(typo(("channel", "series")), st.just(""),
                                       wrong_type("str")).filter(
                                           lambda v: v not in ("channel", "series")))
        else:
            data[key] = draw(st.one_of(wrong_type("float"), st.floats(max_value=0),
                                       st.floats(min_value=1)).filter(
                                           lambda v: not (is_number(v) and 0 < v < 1)))
        return [f"[data] {key}"]
    if what in ("file", "source_option"):
        for k in list(data):
            if k != "split":
                del data[k]
        data["source"] = "file"
        target = draw(st.sampled_from(["missing", "folder", "garbage", "empty", "odd"]))
        if target == "odd":  # a path no file system has: NUL, an unknown ~user, nothing
            data["path"] = draw(st.one_of(
                st.sampled_from(["", " ", "~no_such_user_zq/x.csv", "a\x00.csv", "."]),
                TEXT.filter(lambda t: not t.startswith("input"))))
            return ["[data]", "path"]
        ext = draw(st.sampled_from([".npz", ".csv", ".parquet", ".txt", ""]))
        name = f"input{ext}"
        if target == "folder":
            (work / name).mkdir()
        elif target in ("garbage", "empty"):
            body = draw(st.binary(min_size=1, max_size=64)) if target == "garbage" else b""
            if ext == ".npz":
                assume(not body.startswith(b"PK"))
            (work / name).write_bytes(body)
        data["path"] = name
        if ext == ".csv" and target == "garbage":
            assume(b"\n" not in body and b"\r" not in body)  # a header without rows
        return ["[data]", name]
    if what == "metric":
        task = "forecasting" if source == "sunspots" else "classification"
        other = "classification" if task == "forecasting" else "forecasting"
        metric = draw(st.sampled_from(TASK_METRICS[other]))
        raw.setdefault("search", {}).update(metric=metric, mode=METRICS[metric])
        return ["metric", metric]
    factory = raw.get("model", {}).get("factory", "cnn")
    wrong = {"cnn": ["rnn", "conv1d", "attention", "transformer"],
             "mlp": ["rnn", "conv1d", "attention", "transformer"],
             "rnn": ["cnn", "mlp"], "forecast": ["cnn"],
             "conv1d": ["cnn"], "attention": ["cnn", "mlp"],
             "finetune": ["rnn", "conv1d", "attention", "transformer"],
             "backbone": ["rnn", "conv1d", "attention", "transformer"]}[factory]
    raw.setdefault("model", {})["factory"] = draw(st.sampled_from(wrong))
    raw.setdefault("space", {}).setdefault("module", factory)
    return ["[model] factory"]


# -- the tests ------------------------------------------------------------------------------------


def _photo_folder(root: Path) -> None:
    """Two classes of seven 8×8 grey PNGs: enough for a 70/15/15 split of each class."""
    import numpy as np
    from PIL import Image

    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(7):
            Image.fromarray(np.full((8, 8), 30 * i, np.uint8)).save(root / c / f"{i}.png")


@settings(FUZZ, max_examples=QUOTA["test_mutated_experiment_files"])
@given(data=st.data())
def test_mutated_experiment_files(capfd, guard, shared, data):
    test = "test_mutated_experiment_files"
    base = data.draw(st.sampled_from(sorted(BASES)), label="base")
    raw = tomllib.loads(to_toml(BASES[base]))  # a deep copy
    if "weights" in raw.get("model", {}):  # digits59_finetune: a source that exists
        raw["model"]["weights"] = str(shared["source"])
    with workdir(guard) as work:
        if raw["data"].get("path") == "photos":  # photos_transfer: the user's photo folder
            _photo_folder(work / "photos")
            raw["model"]["pretrained"] = False  # the session's hub folder holds no weights
        level = data.draw(st.sampled_from(["file"] * 4 + ["data"]), label="level")
        if level == "data":
            expect = m_data(data.draw, raw, base, work)
        else:
            mutation = data.draw(st.sampled_from(FILE_MUTATIONS), label="mutation")
            if data.draw(st.integers(0, 4), label="drop a section") == 0:
                expect = m_drop_then(data.draw, raw, mutation)
            else:
                expect = mutation(data.draw, raw)
        path = work / "exp.toml"
        path.write_text(to_toml(raw))
        verbs = [["run", "--dry-run"], ["run"]]
        if level == "file":
            verbs += [["space"], ["train", "--config", str(shared["best"])]]
        verb = data.draw(st.sampled_from(verbs), label="verb")
        argv = [verb[0], str(path), *verb[1:]]
        if verb[0] == "run":
            argv += ["--storage", str(work / "store")]
        rejected(capfd, work, shared, argv, [str(path), *expect], test)


@settings(FUZZ, max_examples=QUOTA["test_garbage_experiment_files"])
@given(data=st.data())
def test_garbage_experiment_files(capfd, guard, shared, data):
    """Bytes that are no TOML at all, broken TOML, and paths that are no experiment file."""
    test = "test_garbage_experiment_files"

    def parses(blob: bytes) -> bool:
        try:
            tomllib.loads(blob.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            return False
        return True

    base = (REPO / "experiments" / data.draw(st.sampled_from(FAST), label="base")).with_suffix(
        ".toml").read_bytes()
    with workdir(guard) as work:
        kind = data.draw(st.sampled_from(["binary", "inserted", "truncated", "utf16", "missing",
                                          "folder", "under_a_file", "empty_arg", "space_name",
                                          "too_deep", "too_long"]), label="kind")
        if kind == "space_name":  # `tuner space NAME` with no such space module
            from tuner.spaces import SPACES

            name = data.draw(st.one_of(st.sampled_from(NOT_SPACES), typo(tuple(SPACES.names())),
                                       st.from_regex(r"[a-z]{1,6}(\.[a-z0-9_]{1,6}){1,3}",
                                                     fullmatch=True).map("zq_".__add__))
                             .filter(lambda n: "\x00" not in n and not n.endswith(".toml")
                                     and not n.startswith("-")))
            rejected(capfd, work, shared, ["space", name], ["tuner space"], test)
            return
        path = work / "exp.toml"
        expect = None
        if kind == "binary":
            path.write_bytes(data.draw(st.binary(min_size=1, max_size=300).filter(
                lambda b: not parses(b))))
        elif kind == "inserted":
            at = data.draw(st.integers(0, len(base)))
            junk = data.draw(st.text(min_size=1, max_size=8)).encode()
            blob = base[:at] + junk + base[at:]
            assume(not parses(blob))
            path.write_bytes(blob)
        elif kind == "truncated":
            blob = base[: data.draw(st.integers(1, len(base) - 1))]
            assume(not parses(blob))
            path.write_bytes(blob)
        elif kind == "utf16":
            path.write_bytes(base.decode().encode("utf-16"))
        elif kind in ("too_deep", "too_long"):  # what a parser's limits, not its grammar, reject
            n = data.draw(st.integers(5000, 20000))
            path.write_text(base.decode() + (f"\n[extra]\nx = {'[' * n}{']' * n}\n"
                            if kind == "too_deep" else f"\nx = 1{'0' * n}\n"))
        elif kind == "missing":
            path = work / (data.draw(IDENT) + ".toml")
        elif kind == "folder":
            path.mkdir()
        elif kind == "under_a_file":
            path.write_bytes(base)
            path = path / "exp.toml"
        shown = str(path) if kind != "empty_arg" else ""
        expect = [shown] if shown else ["experiment file"]
        verb = data.draw(st.sampled_from([["run", "--dry-run"], ["run"], ["space"],
                                          ["train", "--config", str(shared["best"])]]))
        if verb == ["space"] and kind == "empty_arg":
            expect = ["space"]
        argv = [verb[0], shown, *verb[1:]]
        if verb[0] == "run":
            argv += ["--storage", str(work / "store")]
        rejected(capfd, work, shared, argv, expect, test)


def _bad_int(lo: int, hi: int | None):
    """Command-line text that is no integer in lo..hi (as Python's int() reads it)."""

    def accepted(text: str) -> bool:
        try:
            v = int(text)
        except ValueError:
            return False
        return lo <= v and (hi is None or v <= hi)

    words = st.one_of(
        st.text(max_size=10), st.sampled_from(["1.5", "1e3", "0x10", "", "ten", "inf", "nan"]),
        out_of(lo, hi).map(str),
    )
    return words.filter(lambda s: "\x00" not in s and not accepted(s))


RUN_FLAGS = {
    "--samples": (1, 100_000),
    "--epochs": (1, 100_000),
    "--seed": (0, 2**32 - 1),
    "--max-concurrent": (1, 10_000),
    "--time-budget": (1, 10**8),
    "--max-failures": (0, 1000),
}
SHARE_FLAGS = {"--cpus-per-trial": (0.01, 1024), "--gpus-per-trial": (0, 64)}
_RUN = build_parser()._subparsers._group_actions[0].choices["run"]  # the flags this tuner has
RUN_FLAGS = {f: r for f, r in RUN_FLAGS.items() if f in _RUN._option_string_actions}
SHARE_FLAGS = {f: r for f, r in SHARE_FLAGS.items() if f in _RUN._option_string_actions}


def _bad_share(lo: float, hi: float):
    """Command-line text that is no number in lo..hi."""

    def accepted(text: str) -> bool:
        try:
            v = float(text)
        except ValueError:
            return False
        return lo <= v <= hi

    words = st.one_of(st.text(max_size=8), st.sampled_from(["-1", "nan", "inf", "1e9", "0x1"]),
                      st.floats().map(str))
    return words.filter(lambda s: "\x00" not in s and not accepted(s))
NO_NUL = st.text(max_size=16).filter(lambda s: "\x00" not in s)


@settings(FUZZ, max_examples=QUOTA["test_bad_run_flags"])
@given(data=st.data())
def test_bad_run_flags(capfd, guard, shared, data):
    test = "test_bad_run_flags"
    base = data.draw(st.sampled_from(FAST), label="base")
    with workdir(guard) as work:
        path = work / "exp.toml"
        path.write_text(to_toml(BASES[base]))
        store = work / "store"
        flag = data.draw(st.sampled_from([*RUN_FLAGS, *SHARE_FLAGS, "--searcher", "--scheduler",
                                          "--mode",
                                          "--metric", "--name", "--storage", "unknown",
                                          "missing_value"]), label="flag")
        expect = [flag]
        if flag in RUN_FLAGS:
            bad = [flag, data.draw(_bad_int(*RUN_FLAGS[flag]))]
        elif flag in SHARE_FLAGS:
            bad = [flag, data.draw(_bad_share(*SHARE_FLAGS[flag]))]
        elif flag in ("--searcher", "--scheduler", "--mode"):
            valid = {"--searcher": SEARCHERS, "--scheduler": SCHEDULERS,
                     "--mode": ("min", "max")}[flag]
            bad = [flag, data.draw(typo(valid).filter(lambda s: "\x00" not in s))]
        elif flag == "--metric":
            metric = base_metric = BASES[base]["search"]["metric"]
            how = data.draw(st.sampled_from(["unknown", "mode", "task"]))
            if how == "unknown":
                metric = data.draw(typo(tuple(METRICS)).filter(lambda s: "\x00" not in s))
                bad = [flag, metric]
            elif how == "mode":
                metric = data.draw(st.sampled_from(sorted(METRICS)))
                bad = [flag, metric, "--mode", "min" if METRICS[metric] == "max" else "max"]
                expect = ["--mode"]
            else:
                task = "forecasting" if base_metric == "mase" else "classification"
                other = "classification" if task == "forecasting" else "forecasting"
                metric = data.draw(st.sampled_from(TASK_METRICS[other]))
                bad = [flag, metric]
                expect = ["metric", metric]
        elif flag == "--name":
            bad = [flag, data.draw(st.one_of(
                st.sampled_from(["", ".x", "../x", "a/b", "x" * 101, "a b"]),
                NO_NUL.filter(lambda s: not NAME_RE.match(s))))]
            expect = ["--name"]
        elif flag == "--storage":
            how = data.draw(st.sampled_from(["file", "under_a_file", "exists", "no_user"]))
            bad = []
            if how == "no_user":
                store = "~no_such_user_zq/results"
                expect = ["--storage", "~no_such_user_zq"]
            elif how == "file":
                store = work / "notes.txt"
                store.write_text("not a folder\n")
                expect = ["--storage", str(store)]
            elif how == "under_a_file":
                (work / "notes.txt").write_text("not a folder\n")
                store = work / "notes.txt" / "results"
                expect = ["--storage", str(work / "notes.txt")]
            else:  # the shared store holds digits_cnn already; --dry-run would replace it
                store = shared["store"]
                bad = ["--name", "digits_cnn"]
                expect = ["already exists", "--overwrite"]
        elif flag == "unknown":
            bad = [data.draw(st.sampled_from(["--sample", "--epoch", "--bogus", "-x", "--gpu",
                                              "--overwrite=yes", "--dry-run=1"]))]
            expect = [bad[0].split("=")[0]]
        else:
            bad = [data.draw(st.sampled_from([*RUN_FLAGS, "--searcher", "--metric", "--name",
                                              "--storage"]))]
            expect = [bad[0], "expected one argument"]
        extra = data.draw(st.sampled_from([[], ["--dry-run"], ["--samples", "4"],
                                           ["--epochs", "3", "--dry-run"]]), label="valid flags")
        if flag == "--storage" and bad:
            extra = [e for e in extra if e != "--dry-run"]
        argv = ["run", str(path), "--storage", str(store), *extra, *bad]
        rejected(capfd, work, shared, argv, expect, test)


@settings(FUZZ, max_examples=QUOTA["test_bad_train_arguments"])
@given(data=st.data())
def test_bad_train_arguments(capfd, guard, shared, data):
    """`tuner train` with a broken --config file, bad flags, or an experiment with no result."""
    test = "test_bad_train_arguments"
    exp = str(REPO / "experiments" / "digits_cnn.toml")
    with workdir(guard) as work:
        cfg = work / "best.toml"
        kind = data.draw(st.sampled_from(["epochs", "seed", "missing", "folder", "garbage",
                                          "not_a_table", "best_epoch", "unknown_key",
                                          "missing_key", "outside", "both", "from_unknown",
                                          "from_untried", "out"]), label="kind")
        source = ["--config", str(cfg)]
        flags: list[str] = []
        expect = [str(cfg)]
        doc = {"best_epoch": 3, "config": dict(shared["config"])}
        if kind == "out":  # a folder train would replace: a file, or someone else's folder
            cfg = shared["best"]
            source = ["--config", str(cfg)]
            out = work / data.draw(st.sampled_from(["notes.txt", "photos", "~no_such_user_zq"]))
            if out.name == "notes.txt":
                out.write_text("keep me\n")
            elif out.name == "photos":
                out.mkdir()
                (out / data.draw(IDENT.filter(lambda n: not n.startswith(
                    ("model", "config", "metrics", "events"))))).write_text("keep me\n")
            else:
                out = Path(out.name)
            flags = ["--out", str(out)]
            expect = ["--out", str(out)]
            doc = None
        elif kind in ("epochs", "seed"):
            cfg = shared["best"]
            source = ["--config", str(cfg)]
            flag = f"--{kind}"
            flags = [flag, data.draw(_bad_int(1, None) if kind == "epochs"
                                     else _bad_int(0, 2**32 - 1))]
            expect = [flag]
            doc = None
        elif kind == "missing":
            doc = None
        elif kind == "folder":
            cfg.mkdir()
            doc = None
        elif kind == "garbage":
            ext = data.draw(st.sampled_from([".toml", ".json"]))
            cfg = cfg.with_suffix(ext)
            source = ["--config", str(cfg)]
            expect = [str(cfg)]
            blob = data.draw(st.one_of(st.binary(max_size=100), st.sampled_from([
                b"[config]\nlr = " + b"[" * 5000 + b"]" * 5000, b"[" * 5000 + b"]" * 5000,
                b"best_epoch = 1" + b"0" * 5000, b'{"best_epoch": 1' + b"0" * 5000 + b"}"])))
            try:
                parsed = (__import__("json").loads(blob) if ext == ".json"
                          else tomllib.loads(blob.decode()))
            except (ValueError, UnicodeDecodeError, RecursionError):
                parsed = None
            assume(parsed is None or not isinstance(parsed, dict) or not parsed)
            cfg.write_bytes(blob)
            doc = None
        elif kind == "not_a_table":
            doc["config"] = data.draw(VALUE.filter(lambda v: not isinstance(v, dict)))
            expect += ["config"]
        elif kind == "best_epoch":
            doc["best_epoch"] = data.draw(st.one_of(
                wrong_type("int"), st.integers(max_value=0), st.integers(min_value=100_001)))
            if data.draw(st.booleans()):
                doc = {"best_epoch": doc["best_epoch"], **doc["config"]}  # a plain table
            expect += ["best_epoch"]
        elif kind == "unknown_key":
            key = data.draw(IDENT.filter(lambda k: k not in shared["config"]))
            doc["config"][key] = data.draw(SCALAR)
            expect += [key]
        elif kind == "missing_key":  # a fixed value may be left out: drop a searched one
            space = shared["spec"].space()
            key = data.draw(st.sampled_from(sorted(
                k for k in shared["config"] if not isinstance(space.priors[k], Fixed))))
            del doc["config"][key]
            expect += [key]
        elif kind == "outside":
            space = shared["spec"].space()
            key = data.draw(st.sampled_from(sorted(shared["config"])))
            prior = space.priors[key]
            doc["config"][key] = data.draw(VALUE.filter(
                lambda v: not isinstance(v, dict) and not prior.contains(v)))
            expect += [key]
        elif kind == "both":
            source = ["--config", str(shared["best"]), "--from", "digits_cnn"]
            expect = ["--config", "--from"]
            doc = None
        elif kind == "from_unknown":
            name = data.draw(NO_NUL.filter(lambda s: s not in ("digits_cnn", "untried")
                                           and not s.startswith("-")))
            source = ["--from", name, "--storage", str(shared["store"])]
            expect = ["no experiment of that name"]
            doc = None
        else:
            source = ["--from", "untried", "--storage", str(shared["store"])]
            expect = ["untried", "no trial"]
            doc = None
        if doc is not None:
            cfg.write_text(to_toml(doc))
        rejected(capfd, work, shared, ["train", exp, *source, *flags], expect, test)


@settings(FUZZ, max_examples=QUOTA["test_bad_saved_experiments"])
@given(data=st.data())
def test_bad_saved_experiments(capfd, guard, shared, data):
    """`best`, `status`, `resume` and `train --from` on unknown names and edited result folders."""
    import json

    test = "test_bad_saved_experiments"
    with workdir(guard) as work:
        verb = data.draw(st.sampled_from([["best"], ["best", "-o", "out.toml"], ["status"],
                                          ["resume"], ["train", str(REPO / "experiments" /
                                                                     "digits_cnn.toml"),
                                                       "--from"]]), label="verb")
        kind = data.draw(st.sampled_from(["unknown", "experiment_json", "trials_json",
                                          "storage_file", "no_state", "bad_output"]),
                         label="kind")
        store, name = shared["store"], "digits_cnn"
        expect: list[str] = []
        if kind == "unknown":
            name = data.draw(st.one_of(NO_NUL, st.just("~no_such_user_zq/x")).filter(
                lambda s: s not in ("digits_cnn", "untried") and not s.startswith("-")))
            assume(name or verb != ["status"])  # `status ""` is `status`: every experiment
            expect = ["no such user" if "~no_such_user" in name else "no experiment of that name"]
        elif kind == "storage_file":
            store = work / "notes.txt"
            store.write_text("not a folder\n")
            expect = ["--storage", str(store)]
        elif kind == "no_state":
            verb = ["resume"]
            expect = ["nothing to resume"]
        elif kind == "bad_output":
            verb = ["best", "-o", data.draw(st.sampled_from(["out.txt", "out", "missing/out.toml",
                                                             "folder.toml", ".",
                                                             "notes.txt/out.toml"]))]
            (work / "folder.toml").mkdir()
            (work / "notes.txt").write_text("not a folder\n")
            expect = [verb[2] if verb[2] != "." else "extension"]
        else:
            if kind == "trials_json" and verb == ["resume"]:
                verb = ["status"]  # resume stops first at the missing Ray state
            store = work / "store-edited"
            exp = store / "exp"
            exp.mkdir(parents=True)
            name = "exp"
            save_spec(shared["spec"], exp)
            record = TrialRecord("trial_001", "a1", dict(shared["config"]), status="completed",
                                 epochs=4, best={"accuracy": 0.9}, best_epoch={"accuracy": 3},
                                 at_best={"accuracy": 0.9, "val_loss": 0.3})
            save_records(exp, [record])
            target = exp / ("experiment.json" if kind == "experiment_json" else "trials.json")
            expect = [str(target)]
            doc = json.loads(target.read_text())
            how = data.draw(st.sampled_from(["garbage", "shape", "values"]))
            if how == "garbage":
                blob = data.draw(st.one_of(st.binary(max_size=80), st.sampled_from([
                    b"[" * 5000 + b"]" * 5000, b'{"file": 1' + b"0" * 5000 + b"}"])))
                try:
                    json.loads(blob)
                    assume(False)
                except (ValueError, RecursionError):
                    pass
                target.write_bytes(blob)
            elif how == "shape":
                finite = SCALAR.filter(lambda v: not isinstance(v, datetime.date)
                                       and not (isinstance(v, float) and not math.isfinite(v)))
                shapes = [st.lists(finite, min_size=1), finite, st.just({})]
                if kind == "experiment_json":
                    shapes += [st.just({"file": "x.toml"}), st.just({"experiment": {}}),
                               st.just({"file": 3, "experiment": doc["experiment"]}),
                               st.just({"file": "x.toml", "experiment": [1]})]
                else:
                    shapes += [st.just([{"trial": "t"}]), st.just([[1, 2]]), st.just([None]),
                               st.just([{**doc[0], "status": "finished"}])]
                target.write_text(json.dumps(data.draw(st.one_of(*shapes))))
            elif kind == "experiment_json":
                raw = doc["experiment"]
                mutation = data.draw(st.sampled_from(FILE_MUTATIONS))
                more = mutation(data.draw, raw)
                assume(not _has_date(raw))  # JSON has no dates: they would turn into text
                expect += more
                target.write_text(json.dumps(doc))
            else:
                rec = doc[0]
                key = data.draw(st.sampled_from(["trial", "config", "status", "epochs", "best",
                                                 "best_epoch", "at_best", "compute_s"]))
                if key in ("best", "best_epoch", "at_best"):
                    rec[key] = data.draw(st.one_of(
                        VALUE.filter(lambda v: not isinstance(v, dict)),
                        st.dictionaries(st.sampled_from(["accuracy", "val_loss"]),
                                        VALUE.filter(lambda v: not is_number(v)), min_size=1)))
                elif key == "epochs":
                    rec[key] = data.draw(st.one_of(wrong_type("int"), st.integers(max_value=-1)))
                elif key == "compute_s":
                    rec[key] = data.draw(wrong_type("float"))
                elif key == "config":
                    rec[key] = data.draw(VALUE.filter(lambda v: not isinstance(v, dict)))
                else:
                    rec[key] = data.draw(wrong_type("str"))
                expect += [key]
                target.write_text(json.dumps(doc, default=str))
        argv = [*verb, name, "--storage", str(store)]
        if verb == ["status"] and kind not in ("unknown",) and data.draw(st.booleans()):
            argv = ["status", "--storage", str(store)]  # every experiment under the root
        if verb[0] == "train":
            argv = [*verb, name, "--storage", str(store)]
        rejected(capfd, work, shared, argv, expect, test)


def _has_date(v) -> bool:
    if isinstance(v, dict):
        return any(map(_has_date, v.values())) or any(map(_has_date, v))
    if isinstance(v, list):
        return any(map(_has_date, v))
    return isinstance(v, datetime.date)


def test_at_least_a_thousand_cases(request):
    """The figure reported in BENCHMARKS.md: malformed inputs tried, each rejected cleanly."""
    ran = {t for t in QUOTA if CASES[t]}
    if ran != set(QUOTA):
        pytest.skip("run the whole module to count the cases")
    total = sum(CASES.values())
    for t, n in QUOTA.items():
        assert CASES[t] >= n * 0.9, (t, CASES[t])
    parts = ", ".join(f"{t.removeprefix('test_')} {CASES[t]}" for t in QUOTA)
    print(f"\nmalformed inputs tried / rejected cleanly: {total} / {total} ({parts})")
    assert total >= 1000
