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

AUTO = "auto"
# fewer validation examples than this (or fewer per class) cannot rank trials: at 100, one
# example moves accuracy by 1 % and its standard error near 95 % accuracy is 2 %, as large as
# most differences between good configs (at 54 series, 9 of 50 trials tied at 1.000)
MIN_VALID, MIN_VALID_PER_CLASS = 100, 10
DEFAULT_FOLDS = 5
TARGET_STEPS = 1000  # optimizer steps a trial's epochs add up to, at the middle batch size
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
    # examples one model trains on: the training split, or train + valid less a fold
    n_fit: int = 0
    height: int = 0  # images: pixels (0 otherwise)
    width: int = 0
    vocab: int = 0  # text: the tokenizer's vocabulary (0 otherwise); steps: tokens a text
    typical_tokens: int = 0  # text: the training texts' 95th percentile of tokens

    @classmethod
    def of(cls, data) -> Profile:
        shape = data.input_shape
        kind = {1: "tabular", 2: "sequence", 3: "image"}.get(len(shape), "other")
        if getattr(data, "vocab_size", 0):  # data-like objects without text have none
            kind = "text"
        classes = smallest = smallest_valid = 0
        if data.task == "classification":
            classes = len(data.classes)
            both = np.bincount(np.concatenate([data.y_train, data.y_valid]), minlength=classes)
            smallest = int(both.min())
            smallest_valid = int(np.bincount(data.y_valid, minlength=classes).min())
        steps = int(shape[0]) if kind in ("sequence", "text") else 0
        min_steps = steps
        if kind == "sequence" and data.lengths_train is not None:
            min_steps = int(min(data.lengths_train.min(), data.lengths_valid.min()))
        channels = {"sequence": shape[-1], "image": shape[0]}.get(kind, 0)
        height, width = (int(shape[1]), int(shape[2])) if kind == "image" else (0, 0)
        return cls(data.task, kind, len(data.x_train), len(data.x_valid), classes, smallest,
                   smallest_valid, steps, min_steps, int(channels),
                   data.task == "forecasting",
                   int(data.n_outputs) if data.task == "forecasting" else 1,
                   trend_share(data) if data.task == "forecasting" else 0.0, len(data.x_train),
                   height, width, int(getattr(data, "vocab_size", 0)),
                   _typical_tokens(data) if kind == "text" else 0)

    @property
    def examples(self) -> int:
        return self.n_train + self.n_valid

    def describe(self) -> str:
        what = {"tabular": "rows", "sequence": "series", "image": "images",
                "text": "texts"}.get(self.kind, "examples")
        text = f"{self.examples} labelled {what}"
        if self.kind == "sequence":
            steps = (f"{self.min_steps}-{self.steps}" if self.min_steps != self.steps
                     else str(self.steps))
            text += f" of {steps} steps × {self.channels} channel{'s' * (self.channels > 1)}"
        if self.kind == "text":
            text += f" of up to {self.steps} tokens ({self.vocab} in the vocabulary)"
        if self.kind == "image":
            text += (f" of {self.height}×{self.width} px, "
                     f"{'grey' if self.channels == 1 else f'{self.channels} channels'}")
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


# images at least this large get residual stages (photos): their stride-2 stem and max-pool
# quarter the side first. Smaller ones (digits, CIFAR-sized) get plain conv blocks, which pool
# after every block: on a CPU a residual net at full 32 px resolution costs ~10× a plain CNN
# an epoch, too much for a 7-minute search
RESIDUAL_SIDE = 64
PRETRAINED_SIDE = 32  # a backbone needs some detail to upsample


def _typical_tokens(data) -> int:
    lengths = data.lengths_train
    if lengths is None or not len(lengths):
        return int(data.input_shape[0])
    return int(np.ceil(np.percentile(lengths, 95)))


def choose_factory(p: Profile, pretrained: bool | None = None) -> tuple[str, str]:
    """The model family for data of this shape, and why."""
    if p.kind == "image":
        return _image_factory(p, pretrained)
    if p.kind == "tabular":
        return "table", (f"{p.describe()}: a dense network or gradient-boosted trees, the "
                         f"family chosen on the validation part (trees are the model to beat "
                         f"on tables of mixed columns, a dense net on many like ones)")
    if p.kind == "text":
        return "text", (f"{p.describe()}: a bag of n-grams, a recurrent net or attention over "
                        f"the tokens, the architecture chosen from the number of texts")
    if p.kind == "sequence" and p.forecasting_window:
        return "forecast", (f"forecasting from windows of {p.steps} past values: a linear "
                            f"model, a dense or a recurrent network over the window, the "
                            f"family tuned on the validation part with the rest")
    if p.kind == "sequence":
        return "rocket", (f"{p.describe()}: convolution transforms (MiniRocket, MultiRocket, "
                          f"Hydra) with a linear head match deep nets on small sets, train in "
                          f"seconds and need no architecture search")
    raise UserError(f"[model] factory: tuner cannot choose a model for inputs shaped "
                    f"{p.kind}; name a factory")


def _image_factory(p: Profile, pretrained: bool | None) -> tuple[str, str]:
    from tuner.models.weights import FILES, present

    size = p.describe()
    have = [n for n in FILES if present(n)]
    if pretrained or (pretrained is None and have and p.channels == 3
                      and min(p.height, p.width) >= PRETRAINED_SIDE):
        why = ("[model] pretrained = true" if pretrained else
               f"ImageNet weights are here ({', '.join(have)})")
        return "backbone", (f"{size}; {why}: a pretrained backbone brings features learnt "
                            f"from a million photos, its first stages frozen, a new head")
    if min(p.height, p.width) >= RESIDUAL_SIDE:
        return "resnet", (f"{size}: photos of {RESIDUAL_SIDE} px and more; a stride-2 stem "
                          f"brings them to a quarter of their side, then stages of residual "
                          f"blocks go deep enough to see whole objects and still train")
    return "cnn", (f"{size}: small images; two or three conv blocks, each pooling, see the "
                   f"whole image and train in seconds an epoch on a CPU")


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


def _median(values: list) -> float:
    """The middle value (the lower of the two middle ones)."""
    values = sorted(values)
    return float(values[(len(values) - 1) // 2])


def fit_to_data(spec, data) -> tuple:
    """(the spec resolved for this data, [Derived]): factory, folds, priors and budget."""
    p = Profile.of(data)
    derived: list[Derived] = []
    factory, module = spec.factory, spec.space_module
    if factory == AUTO:
        factory, why = choose_factory(p, spec.model_options.get("pretrained"))
        derived.append(Derived("factory", factory, why))
        if module == AUTO:
            from tuner.models import space_module_of

            module = space_module_of(factory)
    folds, why = choose_folds(p, spec.data.folds, f"{spec.path}: [data]")
    if why:
        derived.append(Derived("folds", folds, why))
    # rolling origins train on the training part's windows or fewer: size batches for the split
    if folds > 1 and not p.forecasting_window:
        p = dataclasses.replace(p, n_fit=p.examples - p.examples // folds)
    overrides, space = _fitted_priors(spec, module, p, derived)
    search = _budget(spec, factory, space, p, derived)
    resolved = dataclasses.replace(
        spec, factory=factory, space_module=module, space_overrides=overrides,
        search=search, search_given=tuple(sorted(set(spec.search_given) | {
            d.key for d in derived if d.key in _SEARCH_KEYS})),
        data=dataclasses.replace(spec.data, folds=folds))
    resolved.space()  # the derived priors with the file's, checked together
    return resolved, derived


_SEARCH_KEYS = ("max_epochs", "grace_period", "samples", "time_budget")


def _fitted_priors(spec, module: str, p: Profile, derived: list) -> tuple[dict, object]:
    """The [space] overrides with the priors the space's `derive` hooks size to the data (the
    file's own win), and the space they make."""
    from tuner.spaces import derive_hooks, load_space

    where = f"{spec.path}: [space]"
    base = load_space(module, where=f"{where} module")
    overrides = dict(spec.space_overrides)
    space = base.override(overrides, where=where)
    for hook in derive_hooks(module):
        for key, value, reason in hook(p, space, where):
            if key in base.priors and key not in spec.space_overrides:
                overrides[key] = value
                derived.append(Derived(key, value, reason))
        space = base.override(overrides, where=where)
    return overrides, space


def _budget(spec, factory: str, space, p: Profile, derived: list):
    """The [search] section with a budget in optimizer steps and wall time when the file sets
    none of samples, max_epochs, time_budget."""
    from tuner.models import FAMILIES

    given = set(spec.search_given)
    batch = space.priors.get("batch_size")
    sizes = [int(v) for v in batch.values()] if batch is not None and batch.discrete else []
    if not sizes or {"samples", "max_epochs", "time_budget"} & given:
        return spec.search
    steps = math.ceil(p.n_fit / _median(sizes))
    family = FAMILIES.get(factory)
    hi = family.max_epochs if family else 60
    epochs = int(min(hi, max(20, math.ceil(TARGET_STEPS / steps))))
    found = [("max_epochs", epochs, f"~{steps} optimizer steps per epoch at the middle batch "
                                    f"size: {epochs} epochs make ~{TARGET_STEPS} steps")]
    tuned = space.priors.get("family")
    if tuned is not None and len(tuned.values()) > 1:
        # families learn at different speeds (a dense net in a few epochs, a recurrent one
        # in tens): at a tenth of the epochs ASHA stopped nearly every recurrent trial,
        # though they ended better on the validation part
        found.append(("grace_period", max(2, epochs // 4),
                      f"the family ({' or '.join(map(str, tuned.values()))}) is tuned, and "
                      f"families learn at different speeds: a quarter of the epochs before ASHA "
                      f"compares trials, so the slower starter is not stopped for starting "
                      f"slowly"))
    else:
        found.append(("grace_period", max(2, epochs // 10),
                      "a tenth of the epochs before ASHA may stop a trial"))
    found.append(("samples", ZERO_EDIT_SAMPLES,
                  f"the file sets no budget: up to {ZERO_EDIT_SAMPLES} trials, as many as the "
                  f"time budget allows (small sets train in seconds, so more trials cost little)"))
    found.append(("time_budget", ZERO_EDIT_BUDGET_S,
                  "the file sets no budget: tuning stops after 7 minutes, so tuning and final "
                  "training fit in 10"))
    values = {}
    for key, value, reason in found:
        if key not in given:
            values[key] = value
            derived.append(Derived(key, value, reason))
    return dataclasses.replace(spec.search, **values)
