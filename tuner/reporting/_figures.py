"""The report's figures, drawn with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from tuner.reporting._data import (
    Experiment,
    choice_index,
    fmt,
    is_log,
    is_numeric,
    position,
    value_at,
)
from tuner.reporting._importance import Importance
from tuner.spaces import Choice, IntRange, Prior
from tuner.vocabulary import Status

DPI = 100
BEST = "#d62728"
STOPPED = "#9a9a9a"
# fewer full-budget trials than this make a heatmap of noise (a cell or two each)
MIN_HEATMAP_TRIALS = 6
INACTIVE = -0.12  # where a hyperparameter absent from a trial sits on its axis


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI)
    return path


def _cmap(exp: Experiment):
    import matplotlib

    # bright means good whichever way the metric points
    return matplotlib.colormaps["viridis" if exp.mode == "max" else "viridis_r"]


def _quality(exp: Experiment, r) -> float:
    return r.value(exp.metric) * (1 if exp.mode == "max" else -1)


def asha_rungs(exp: Experiment) -> list[int]:
    """The epochs where ASHA compares trials and stops the worse ones."""
    s = exp.spec.search
    if s.scheduler != "asha":
        return []
    rungs, m = [], s.grace_period
    while m < s.max_epochs:
        rungs.append(m)
        m *= s.reduction_factor
    return rungs


def curves(exp: Experiment, path: Path) -> Path:
    fig = Figure(figsize=(9, 4.8), layout="constrained")
    ax = fig.add_subplot()
    best = exp.ranked[0].trial
    styles = {
        Status.COMPLETED: dict(color="#1f77b4", lw=1.1, alpha=0.7, zorder=3),
        Status.RUNNING: dict(color="#1f77b4", lw=1.1, alpha=0.7, ls="--", zorder=3),
        Status.STOPPED_EARLY: dict(color=STOPPED, lw=0.7, alpha=0.7, zorder=2),
        Status.DIVERGED: dict(color="#ff7f0e", lw=0.8, ls=":", zorder=2),
        Status.ERRORED: dict(color="#ff7f0e", lw=0.8, ls=":", zorder=2),
    }
    values = []
    for r in exp.records:
        curve = exp.curves.get(r.trial) or []
        if not curve or r.trial == best:
            continue
        ax.plot(*zip(*curve, strict=True), **styles[r.status])
        values += [v for _, v in curve]
    b = exp.ranked[0]
    if exp.curves.get(best):
        ax.plot(*zip(*exp.curves[best], strict=True), color=BEST, lw=2.6, zorder=5)
        values += [v for _, v in exp.curves[best]]
    for m in asha_rungs(exp):
        ax.axvline(m, color="0.75", lw=0.8, ls=":", zorder=1)
    legend = [Line2D([], [], color=BEST, lw=2.6,
                     label=f"best: {b.trial} ({exp.metric} {b.value(exp.metric):.4g})")]
    for status, st in styles.items():
        n = exp.count(status)
        if n:
            legend.append(Line2D([], [], **{k: v for k, v in st.items() if k != "zorder"},
                                 label=f"{status} ({n})"))
    if asha_rungs(exp):
        legend.append(Line2D([], [], color="0.75", lw=0.8, ls=":",
                             label="ASHA rungs (epochs " + ", ".join(map(str, asha_rungs(exp)))
                             + ")"))
    ax.legend(handles=legend, fontsize=8, loc="best")
    _focus(ax, values, exp.mode)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(exp.metric)
    ax.set_xlim(0.5, exp.max_epochs + 0.5)
    ax.set_title(f"{exp.metric} per epoch, {len(exp.records)} trials", fontsize=10)
    ax.grid(alpha=0.25)
    return _save(fig, path)


def _focus(ax, values: list[float], mode: str) -> None:
    """Zoom on the good end: the first epochs of poor trials would flatten the rest."""
    if not values:
        return
    vs = sorted(values)
    if mode == "max":
        lo, hi = vs[int(0.05 * (len(vs) - 1))], vs[-1]
    else:
        lo, hi = vs[0], vs[int(0.95 * (len(vs) - 1))]
        if lo > 0 and hi / lo > 20:
            ax.set_yscale("log")
            ax.set_ylim(lo / 1.2, hi * 1.2)
            return
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 0.05
    ax.set_ylim(lo - pad, hi + pad)


def importance(exp: Experiment, imp: Importance, path: Path, low: float) -> Path:
    names = list(imp.values)[::-1]
    fig = Figure(figsize=(7, 0.6 + 0.32 * max(len(names), 2)), layout="constrained")
    ax = fig.add_subplot()
    shares = [imp.values[n] for n in names]
    ax.barh(names, shares, color=["#1f77b4" if s >= low else STOPPED for s in shares])
    for y, s in enumerate(shares):
        ax.text(s + 0.01, y, f"{s:.3f}", va="center", fontsize=8)
    ax.axvline(low, color=BEST, lw=0.8, ls="--")
    ax.text(low, len(names) - 0.4, f" {low}: fix below", color=BEST, fontsize=8, va="bottom")
    ax.set_xlim(0, max(shares) + 0.12)
    ax.set_xlabel(f"share of the variance of {exp.metric} (fANOVA, {imp.trials} full-budget "
                  f"trials)")
    ax.tick_params(axis="y", labelsize=8)
    return _save(fig, path)


def parallel(exp: Experiment, imp: Importance, path: Path) -> Path:
    """One vertical axis per hyperparameter (most important first), then the metric."""
    names = [n for n in imp.values] + [n for n in exp.params if n not in imp.values]
    priors = [exp.space.priors[n] for n in names]
    k = len(names)
    fig = Figure(figsize=(min(max(7.0, 1.05 * (k + 1) + 1.5), 22), 5), layout="constrained")
    ax = fig.add_subplot()
    norm = _full_norm(exp)
    cmap = _cmap(exp)
    for r in sorted(exp.ranked, key=lambda r: _quality(exp, r)):  # best drawn last, on top
        ys = [_axis_y(p, r.config.get(n)) for n, p in zip(names, priors, strict=True)]
        v = r.value(exp.metric)
        # the metric axis spans the full-budget trials; a trial stopped below it sits at its foot
        ys.append(min(max(float(norm(v)), -0.03), 1.03))
        full = r in exp.full
        ax.plot(range(k + 1), ys, color=cmap(norm(v)) if full else STOPPED,
                lw=1.3 if full else 0.6, alpha=0.85 if full else 0.45, zorder=3 if full else 2)
    for x, p in enumerate(priors):
        ax.axvline(x, color="black", lw=0.8, zorder=1)
        for y, label in _ticks(p):
            ax.text(x + 0.04, y, label, fontsize=7, va="center", zorder=4,
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.6, pad=0.5))
        if any(n not in r.config for r in exp.ranked for n in (names[x],)):
            ax.text(x + 0.04, INACTIVE, "inactive", fontsize=7, va="center", color="0.4")
    ax.axvline(k, color="black", lw=0.8)
    for q in (0.0, 0.5, 1.0):
        ax.text(k + 0.04, q, f"{norm.inverse(q):.4g}", fontsize=7, va="center")
    if any(r.value(exp.metric) < norm.vmin for r in exp.ranked):
        ax.text(k + 0.04, -0.06, "(lower: at the foot)", fontsize=6, va="center", color="0.4")
    ax.set_xticks(range(k + 1), [*names, exp.metric], rotation=30, ha="right", fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(INACTIVE - 0.06, 1.05)
    ax.set_xlim(-0.2, k + 0.5)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label=f"{exp.metric} (full budget)",
                 shrink=0.8)
    ax.plot([], [], color=STOPPED, lw=0.6, label="stopped early")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, 1.08), frameon=False)
    return _save(fig, path)


def _full_norm(exp: Experiment) -> Normalize:
    """The metric's range over the full-budget trials (stopped ones would stretch it)."""
    values = [r.value(exp.metric) for r in exp.full]
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.01 or 0.01), hi + (abs(hi) * 0.01 or 0.01)
    return Normalize(lo, hi)


def _axis_y(p: Prior, v) -> float:
    if v is None:
        return INACTIVE
    y = position(p, v)
    return INACTIVE if math.isnan(y) else y


def _ticks(p: Prior) -> list[tuple[float, str]]:
    if isinstance(p, Choice):
        opts = p.values()
        every = max(1, math.ceil(len(opts) / 8))
        return [(position(p, o), fmt(o)) for o in opts[::every]]
    if not is_numeric(p):
        return [(0.5, fmt(p.values()[0]))]
    return [(q, fmt(_tick_value(p, q))) for q in (0.0, 0.5, 1.0)]


def _tick_value(p: Prior, q: float):
    v = value_at(p, q)
    return p.snap(v) if isinstance(p, IntRange) else v


def heatmap_pairs(imp: Importance, top: int = 3) -> list[tuple[str, str]]:
    return list(itertools.combinations(list(imp.values)[:top], 2))


def heatmaps(exp: Experiment, pairs: list[tuple[str, str]], path: Path) -> Path:
    """Mean metric of the full-budget trials per cell, for each pair of hyperparameters."""
    fig = Figure(figsize=(4.6 * len(pairs), 4.4), layout="constrained")
    norm = _full_norm(exp)
    cmap = _cmap(exp).with_extremes(bad="#f2f2f2")
    for i, (a, b) in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), i + 1)
        (xl, xi), (yl, yi) = _bins(exp.space.priors[a]), _bins(exp.space.priors[b])
        sums = [[0.0] * len(xl) for _ in yl]
        counts = [[0] * len(xl) for _ in yl]
        for r in exp.full:
            x, y = xi(r.config[a]), yi(r.config[b])
            if x is not None and y is not None:
                sums[y][x] += r.value(exp.metric)
                counts[y][x] += 1
        means = [[s / c if c else math.nan for s, c in zip(row, cs, strict=True)]
                 for row, cs in zip(sums, counts, strict=True)]
        ax.imshow(means, cmap=cmap, norm=norm, origin="lower", aspect="auto")
        for y, row in enumerate(means):
            for x, m in enumerate(row):
                if counts[y][x]:
                    rgb = cmap(norm(m))[:3]
                    dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.5
                    ax.text(x, y, f"{m:.3g}\nn={counts[y][x]}", ha="center", va="center",
                            fontsize=7, color="white" if dark else "black")
        ax.set_xticks(range(len(xl)), xl, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(yl)), yl, fontsize=7)
        ax.set_xlabel(a + (" (log bins)" if is_log(exp.space.priors[a]) else ""))
        ax.set_ylabel(b + (" (log bins)" if is_log(exp.space.priors[b]) else ""))
    fig.colorbar(ScalarMappable(norm, cmap), ax=fig.axes, shrink=0.8,
                 label=f"mean {exp.metric}, full-budget trials")
    return _save(fig, path)


def _bins(p: Prior, n: int = 5):
    """(labels, value -> bin index or None): categories as they are, ranges in n bins."""
    if isinstance(p, Choice) or not is_numeric(p) or (
            isinstance(p, IntRange) and len(p.values()) <= 8):
        opts = p.values()
        if isinstance(p, Choice):
            return [fmt(o) for o in opts], lambda v: choice_index(p, v)
        return [fmt(o) for o in opts], lambda v: opts.index(v) if v in opts else None
    edges = [value_at(p, i / n) for i in range(n + 1)]
    if isinstance(p, IntRange):
        edges = [round(e) for e in edges]
    labels = [f"{fmt(edges[i])}-{fmt(edges[i + 1])}" for i in range(n)]

    def index(v):
        q = position(p, v)
        return None if math.isnan(q) else min(max(int(q * n), 0), n - 1)

    return labels, index
