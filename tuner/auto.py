"""What tuner derives from the data when the experiment file leaves it out.

An experiment that names only its data gets a model family chosen from the data's shape, priors
sized to it (batch sizes against the number of examples, ROCKET's kernels against the cost of
its transform), cross-validation when the validation split is too small to rank trials, and a
budget in optimizer steps and wall time. Every rule reads measurable properties of the data
(examples, classes and their balance, series length, channels); none knows a data set by name.
Anything the file says wins: a derived value only fills a key the file left out.

`fit_to_data(spec, data)` returns the resolved spec (concrete factory, space overrides, folds,
search budget), which the run saves beside its results, and the reasons, which `tuner run`,
`--dry-run` and `tuner space FILE` print.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from tuner.errors import UserError
from tuner.spaces.priors import Fixed

AUTO = "auto"
# fewer validation examples than this (or fewer per class) cannot rank trials: at 100, one
# example moves accuracy by 1 % and its standard error near 95 % accuracy is 2 %, as large as
# most differences between good configs (at 54 series, 9 of 50 trials tied at 1.000)
MIN_VALID, MIN_VALID_PER_CLASS = 100, 10
DEFAULT_FOLDS = 5
MIN_STEPS = 16  # time steps a downsampled series must keep
MIN_UPDATES = 4  # optimizer steps per epoch the largest batch size must leave
TARGET_STEPS = 1000  # optimizer steps a trial's epochs add up to, at the middle batch size
# ROCKET's transform, in multiply-adds a trial may spend on it (~15 s on one core)
ROCKET_MACS = 1.5e10
# ROCKET's closed-form ridge head solves an eigenproblem in the smaller of examples and
# features; above this many training examples it would cost more than the transform
RIDGE_MAX_EXAMPLES = 4000
# a forecast reads its window relative to the last value when a straight line explains more of
# the training part's variance than this (a trend: later levels leave the range trained on)
TREND_SHARE = 0.5
ZERO_EDIT_SAMPLES = 50
ZERO_EDIT_BUDGET_S = 420  # tuning wall time when the file gives no budget: with final training,
# a zero-edit run fits in 10 minutes on a 2-core machine


@dataclass(frozen=True)
class Profile:
    """The measurable properties of a data set that tuner's defaults depend on."""

    task: str
    kind: str  # tabular | sequence | image
    n_train: int
    n_valid: int
    classes: int  # 0 for regression and forecasting
    smallest_class: int  # examples of the rarest class in train + valid (0 without classes)
    smallest_valid_class: int
    steps: int  # sequence length (the longest, for padded sets); 0 otherwise
    min_steps: int
    channels: int
    forecasting_window: bool
    horizon: int = 1  # values a forecast predicts (its windows' targets overlap by horizon - 1)
    # the share of the training part's variance a straight line in time explains (forecasts)
    trend_share: float = 0.0

    @classmethod
    def of(cls, data) -> Profile:
        shape = data.input_shape
        kind = {1: "tabular", 2: "sequence", 3: "image"}.get(len(shape), "other")
        classes = smallest = smallest_valid = 0
        if data.task == "classification":
            classes = len(data.classes)
            both = np.bincount(np.concatenate([data.y_train, data.y_valid]), minlength=classes)
            smallest = int(both.min())
            smallest_valid = int(np.bincount(data.y_valid, minlength=classes).min())
        steps = int(shape[0]) if kind == "sequence" else 0
        min_steps = steps
        if kind == "sequence" and data.lengths_train is not None:
            min_steps = int(min(data.lengths_train.min(), data.lengths_valid.min()))
        return cls(data.task, kind, len(data.x_train), len(data.x_valid), classes, smallest,
                   smallest_valid, steps, min_steps,
                   int(shape[1]) if kind == "sequence" else 0, data.task == "forecasting",
                   int(data.n_outputs) if data.task == "forecasting" else 1,
                   trend_share(data) if data.task == "forecasting" else 0.0)

    @property
    def examples(self) -> int:
        return self.n_train + self.n_valid

    def describe(self) -> str:
        what = {"tabular": "rows", "sequence": "series", "image": "images"}.get(self.kind,
                                                                                "examples")
        text = f"{self.examples} labelled {what}"
        if self.kind == "sequence":
            steps = (f"{self.min_steps}-{self.steps}" if self.min_steps != self.steps
                     else str(self.steps))
            text += f" of {steps} steps × {self.channels} channel{'s' * (self.channels > 1)}"
        if self.classes:
            text += f", {self.classes} classes (smallest: {self.smallest_class})"
        return text


def trend_share(data) -> float:
    """R² of a straight line through the training part of a forecast's series (its first
    window, then each window's first target): near 1 for a series that trends, near 0 for
    one that returns to its mean."""
    v = np.concatenate([data.x_train[0, :, 0], data.y_train[:, 0]]).astype(np.float64)
    if len(v) < 3 or v.std() == 0:
        return 0.0
    t = np.arange(len(v), dtype=np.float64)
    return float(np.corrcoef(t, v)[0, 1] ** 2)


@dataclass(frozen=True)
class Derived:
    """One value tuner chose, and why (printed before a run and by `tuner space FILE`)."""

    key: str  # "factory", "folds", a search key, or a [space] prior's name
    value: object
    reason: str

    def line(self) -> str:
        return f"{self.key} = {_inline(self.value)}: {self.reason}"


def _inline(v) -> str:
    """A value as one line of TOML: `{ choice = [2, 4, 8] }`, `"rocket"`, `150`."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_inline(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v).lower() if isinstance(v, bool) else str(v)


def choose_factory(p: Profile) -> tuple[str, str]:
    """The model family for data of this shape, and why."""
    if p.kind == "image":
        return "cnn", "images: convolutions share their weights across positions"
    if p.kind == "tabular":
        return "mlp", "a table of features: a dense network"
    if p.kind == "sequence" and p.forecasting_window:
        return "forecast", (f"forecasting from windows of {p.steps} past values: a linear "
                            f"model, a dense or a recurrent network over the window, the "
                            f"family tuned on the validation part with the rest")
    if p.kind == "sequence":
        return "rocket", (f"{p.describe()}: random convolution kernels with a linear head "
                          f"(ROCKET) match deep nets on small sets, train in seconds and need "
                          f"no architecture search")
    raise UserError(f"[model] factory: tuner cannot choose a model for inputs shaped "
                    f"{p.kind}; name a factory")


def choose_folds(p: Profile, given: int | None, where: str) -> tuple[int, str | None]:
    """How many folds trials cross-validate on (1 = the plain validation split), and why."""
    if given is not None:
        if given > 1 and p.forecasting_window:
            first = p.n_train - (given - 1) * p.n_valid - (p.horizon - 1)
            if first < p.n_valid:
                most = max(1, 1 + (p.n_train - p.horizon + 1 - p.n_valid) // p.n_valid)
                raise UserError(
                    f"{where} folds: {given} rolling-origin folds of {p.n_valid} validation "
                    f"windows leave the first fold {max(first, 0)} training window(s), fewer "
                    f"than it validates on; set folds ≤ {most}, or 1 for the plain split")
            return given, None
        if given > 1 and p.classes and given > p.smallest_class:
            raise UserError(
                f"{where} folds: {given} folds need at least {given} examples of every class, "
                f"but the rarest class has {p.smallest_class} in train + valid; set folds = "
                f"{max(p.smallest_class, 1) if p.smallest_class > 1 else 1} or fewer")
        if given > p.examples:
            raise UserError(f"{where} folds: {given} folds for {p.examples} examples; set "
                            f"folds ≤ {p.examples}")
        return given, None
    small = p.n_valid < MIN_VALID or (p.classes and p.smallest_valid_class < MIN_VALID_PER_CLASS)
    if not small:
        return 1, None
    if p.forecasting_window:
        # rolling origins ([data] folds = K) rank on more windows but cost K times as much, and
        # on the series measured they chose no better model: the plain split by default
        return 1, None
    folds = DEFAULT_FOLDS if not p.classes else min(DEFAULT_FOLDS, p.smallest_class)
    if folds < 2:
        return 1, None
    per_class = f" ({p.smallest_valid_class} of the rarest class)" if p.classes else ""
    return folds, (f"{p.n_valid} validation examples{per_class} cannot rank trials; each trial "
                   f"cross-validates {folds} models over the {p.examples} examples of train + "
                   f"valid ([data] folds = 1 turns this off)")


def _powers_of_two(lo: int, hi: int) -> list[int]:
    out, b = [], 1
    while b <= hi:
        if b >= lo:
            out.append(b)
        b *= 2
    return out


def largest_batch(n_fit: int) -> int:
    """The largest power of two (at least 2) that leaves ≥ MIN_UPDATES optimizer steps per
    epoch on `n_fit` examples."""
    return max(2, 1 << max(0, (n_fit // MIN_UPDATES).bit_length() - 1))


def batch_sizes(n_fit: int, current: list[int]) -> tuple[list[int], str] | None:
    """Batch sizes that leave ≥ MIN_UPDATES optimizer steps per epoch on `n_fit` examples,
    or None when the space's own choices already do."""
    top = largest_batch(n_fit)
    if max(current) <= top:
        return None
    keep = [b for b in current if b <= top]
    choices = keep if len(keep) >= 3 else _powers_of_two(max(2, top // 8), top)
    return choices, (f"{n_fit} training examples per model: batches up to {top} leave at least "
                     f"{MIN_UPDATES} optimizer steps per epoch")


def receptive_field(blocks: int, kernel: int, growth: int) -> int:
    """Steps one output of `blocks` dilated conv blocks sees (block i dilated growth^i)."""
    return 1 + (kernel - 1) * sum(growth**i for i in range(blocks))


def receptive_fields(spec, space, p: Profile, prior) -> None:
    """Dilated conv blocks against the series' length: an error when the space cannot fit the
    data at all, and dilation growths whose receptive field dwarfs the series left out."""
    def values(key):
        q = space.priors[key]
        return [int(v) for v in q.values()] if q.discrete else [int(q.low), int(q.high)]

    blocks, kernels, growths = values("conv_blocks"), values("kernel_size"), \
        values("dilation_growth")
    smallest = receptive_field(min(blocks), min(kernels), min(growths))
    if smallest > p.steps:
        raise UserError(
            f"{spec.path}: [space] kernel_size: the smallest receptive field the space allows "
            f"({smallest} steps: {min(blocks)} block(s), kernel {min(kernels)}, dilation growth "
            f"{min(growths)}) is longer than every series ({p.steps} steps); choose a smaller "
            f"kernel_size, dilation_growth or conv_blocks")
    if "dilation_growth" in spec.space_overrides or not space.priors["dilation_growth"].discrete:
        return
    fits = [g for g in growths if receptive_field(max(blocks), min(kernels), g) <= 2 * p.steps]
    fits = fits or [min(growths)]
    if fits != growths:
        prior("dilation_growth", {"choice": fits},
              f"series of {p.steps} steps: with {max(blocks)} blocks, growth "
              f"{max(set(growths) - set(fits))} would see "
              f"{receptive_field(max(blocks), min(kernels), max(set(growths) - set(fits)))} "
              f"steps, mostly padding")


def _median(values: list) -> float:
    """The middle value (the lower of the two middle ones)."""
    values = sorted(values)
    return float(values[(len(values) - 1) // 2])


def fit_to_data(spec, data) -> tuple:
    """(the spec resolved for this data, [Derived]): factory, folds, priors and budget."""
    from tuner.spaces import load_space

    p = Profile.of(data)
    where = f"{spec.path}: [data]"
    derived: list[Derived] = []
    factory, module = spec.factory, spec.space_module
    if factory == AUTO:
        factory, why = choose_factory(p)
        derived.append(Derived("factory", factory, why))
        module = factory if module == AUTO else module
    folds, why = choose_folds(p, spec.data.folds, where)
    if why:
        derived.append(Derived("folds", folds, why))
    # rolling origins train on the training part's windows or fewer: size batches for the split
    n_fit = p.examples - p.examples // folds if folds > 1 and not p.forecasting_window \
        else p.n_train

    base = load_space(module, where=f"{spec.path}: [space] module")
    overrides = dict(spec.space_overrides)

    def prior(key: str, value, reason: str) -> None:
        if key in base.priors and key not in spec.space_overrides:
            overrides[key] = value
            derived.append(Derived(key, value, reason))

    batch = base.priors.get("batch_size")
    sizes = [int(v) for v in batch.values()] if batch is not None and batch.discrete else []
    if "batch_size" in spec.space_overrides:
        b = spec.space_overrides["batch_size"]
        sizes = b.get("choice", sizes) if isinstance(b, dict) else [b]
    elif sizes:
        fitted = batch_sizes(n_fit, sizes)
        if fitted:
            prior("batch_size", {"choice": fitted[0]}, fitted[1])
            sizes = fitted[0]
    if p.forecasting_window and isinstance(base.priors.get("anchor"), Fixed):
        share = f"a straight line in time explains {p.trend_share:.0%} of the training part's " \
                f"variance"
        if p.trend_share > TREND_SHARE:
            prior("anchor", "last", f"{share}, a trend: later levels leave the range trained "
                                    f"on, so the net reads the window relative to its last "
                                    f"value and forecasts the change (it starts at the naive "
                                    f"forecast)")
        else:
            prior("anchor", "none", f"{share}: no dominant trend, so the net reads levels "
                                    f"(forecasting the change from the last value would "
                                    f"forget where a cycle stands)")
    if {"kernel_size", "dilation_growth", "conv_blocks"} <= set(base.priors) and p.steps:
        receptive_fields(spec, base.override(overrides, where=f"{spec.path}: [space]"), p,
                         prior)
    if "downsample" in base.priors and p.steps and base.priors["downsample"].discrete:
        fits = [f for f in (1, 2, 4, 8, 16, 32, 64) if p.steps / f >= MIN_STEPS][-4:] or [1]
        if fits != [int(v) for v in base.priors["downsample"].values()]:
            why = (f"series of up to {p.steps} steps: every factor leaves at least {MIN_STEPS} "
                   f"steps to read, and the coarser ones spare recurrent and attention layers "
                   f"hundreds of steps") if len(fits) > 1 else (
                f"series of up to {p.steps} steps are too short to average: every step is read")
            prior("downsample", {"choice": fits} if len(fits) > 1 else fits[0], why)
    if factory == "rocket" and "kernels" in base.priors:
        cost = max(p.examples, 1) * max(p.steps, 1) * 11 * max(p.channels, 1)
        cap = ROCKET_MACS / cost
        kernels = [int(k) for k in base.priors["kernels"].values()]
        fits = [k for k in kernels if k <= cap] or [max(100, int(cap // 100 * 100))]
        if fits != kernels:
            prior("kernels", {"choice": fits},
                  f"the transform of {p.examples} series × {p.steps} steps × {p.channels} "
                  f"channel(s) costs {cost:.3g} multiply-adds per kernel; at most "
                  f"{max(fits)} kernels keep it to ~15 s per trial")

    if factory == "rocket" and "head" in base.priors:
        # the paper's own advice: ridge on small sets, a trained (logistic) head on large ones.
        # A trained head on tens of series has its epoch count picked on a few validation
        # examples, and its test accuracy then moved by ±0.03 between seeds (GunPoint's 50)
        if n_fit <= RIDGE_MAX_EXAMPLES:
            prior("head", "ridge", f"{n_fit} training examples per model: the ridge "
                                   f"classifier, solved in closed form with its penalty picked "
                                   f"by leave-one-out error, as ROCKET's authors advise for "
                                   f"sets this size (nothing to train epoch by epoch)")
        else:
            prior("head", "linear", f"{n_fit} training examples per model: a head trained by "
                                    f"gradient descent (the closed-form ridge head is for sets "
                                    f"of up to {RIDGE_MAX_EXAMPLES})")

    search = dataclasses.asdict(spec.search)
    given = set(spec.search_given)

    def budget(key: str, value, reason: str) -> None:
        if key not in given:
            search[key] = value
            given.add(key)
            derived.append(Derived(key, value, reason))

    if sizes and not {"samples", "max_epochs", "time_budget"} & given:
        steps = math.ceil(n_fit / _median(sizes))
        hi = 200 if factory == "rocket" else 60  # a fixed front makes epochs cheap
        epochs = int(min(hi, max(20, math.ceil(TARGET_STEPS / steps))))
        budget("max_epochs", epochs, f"~{steps} optimizer steps per epoch at the middle batch "
                                     f"size: {epochs} epochs make ~{TARGET_STEPS} steps")
        family = base.override(overrides, where=f"{spec.path}: [space]").priors["family"] \
            if "family" in base.priors else None
        if family is not None and len(family.values()) > 1:
            # families learn at different speeds (a dense net in a few epochs, a recurrent one
            # in tens): at a tenth of the epochs ASHA stopped nearly every recurrent trial,
            # though they ended better on the validation part
            budget("grace_period", max(2, epochs // 4),
                   f"the family ({' or '.join(map(str, family.values()))}) is tuned, and "
                   f"families learn at different speeds: a quarter of the epochs before ASHA "
                   f"compares trials, so the slower starter is not stopped for starting slowly")
        else:
            budget("grace_period", max(2, epochs // 10),
                   "a tenth of the epochs before ASHA may stop a trial")
        budget("samples", ZERO_EDIT_SAMPLES,
               f"the file sets no budget: up to {ZERO_EDIT_SAMPLES} trials, as many as the time "
               f"budget allows (small sets train in seconds, so more trials cost little)")
        budget("time_budget", ZERO_EDIT_BUDGET_S,
               "the file sets no budget: tuning stops after 7 minutes, so tuning and final "
               "training fit in 10")
    search_spec = dataclasses.replace(
        spec.search, **{k: v for k, v in search.items() if k in given})
    resolved = dataclasses.replace(
        spec, factory=factory, space_module=module, space_overrides=overrides,
        search=search_spec, search_given=tuple(sorted(given)),
        data=dataclasses.replace(spec.data, folds=folds))
    resolved.space()  # the derived priors with the file's, checked together
    return resolved, derived
