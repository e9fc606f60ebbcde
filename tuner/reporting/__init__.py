"""`tuner report`: one self-contained page on a finished (or partly finished) experiment.

    from tuner.reporting import write_report
    write_report(Path("results/digits_cnn"))   # -> results/digits_cnn/report/report.html

The page holds the best trials, every learning curve, parallel coordinates, heatmaps of the
most important pairs (from full-budget trials only), fANOVA importance and advice on the space;
its images are embedded and also written beside it as PNG files, and its numbers as
report.json. Nothing here imports Ray or torch.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["write_report"]


def write_report(exp_dir: Path, out_dir: Path | None = None) -> Path:
    """Write report.html (with curves.png, parallel.png, importance.png, heatmaps.png and
    report.json) to `out_dir`, default `<exp_dir>/report/`; returns the HTML file's path.

    An experiment with fewer than 2 trials that ran the full budget is a UserError.
    """
    from tuner.errors import UserError
    from tuner.reporting import _advice, _figures, _html
    from tuner.reporting._data import load
    from tuner.reporting._importance import fanova

    exp = load(Path(exp_dir))
    out = Path(out_dir) if out_dir is not None else exp.dir / "report"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create the report folder ({e.strerror}); give another "
                        f"one") from None
    imp = fanova(exp)
    advice = _advice.advise(exp, imp)
    images = {
        "curves": _figures.curves(exp, out / "curves.png"),
        "parallel": _figures.parallel(exp, imp, out / "parallel.png"),
    }
    if imp.values:
        images["importance"] = _figures.importance(exp, imp, out / "importance.png", _advice.LOW)
    pairs = _figures.heatmap_pairs(imp)
    note = heatmap_note(exp, pairs)
    if pairs and len(exp.full) >= _figures.MIN_HEATMAP_TRIALS:
        images["heatmaps"] = _figures.heatmaps(exp, pairs, out / "heatmaps.png")
    final = final_figures(exp.dir)
    page = out / "report.html"
    page.write_text(_html.render(exp, imp, advice, images, note, final), encoding="utf-8")
    (out / "report.json").write_text(json.dumps({
        "experiment": exp.name,
        "metric": exp.metric,
        "mode": exp.mode,
        "trials": len(exp.records),
        "full_budget_trials": len(exp.full),
        "best": {"trial": exp.ranked[0].trial, "value": exp.ranked[0].value(exp.metric)},
        "importance": imp.values,
        "importance_problem": imp.problem,
        "left_out": imp.left_out,
        "heatmap_pairs": pairs,
        "advice": [vars(a) for a in advice],
        "images": sorted(p.name for p in images.values()),
        "final": final,
    }, indent=1) + "\n")
    return page


def final_figures(exp_dir: Path) -> dict | None:
    """What `tuner train` wrote to final/metrics.json: the tuned model's test figures and,
    beside them, the reference's and the naive forecast's; None before final training."""
    path = Path(exp_dir) / "final" / "metrics.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def heatmap_note(exp, pairs: list[tuple[str, str]]) -> str:
    """Why the heatmaps use full-budget trials only, with this experiment's numbers."""
    from tuner.reporting._figures import MIN_HEATMAP_TRIALS
    from tuner.vocabulary import Status

    stopped = sorted({r.epochs for r in exp.records if r.status == Status.STOPPED_EARLY})
    n_stopped = exp.count(Status.STOPPED_EARLY)
    listed = ", ".join(map(str, stopped[:-1])) + " and " * (len(stopped) > 1) + \
        "".join(map(str, stopped[-1:]))
    where = f" (at epoch{'s' if len(stopped) > 1 else ''} {listed})" if stopped else ""
    why = (f"The heatmaps use only the {len(exp.full)} trials that ran all {exp.max_epochs} "
           f"epochs. The {n_stopped} trials the {exp.spec.search.scheduler} scheduler stopped "
           f"early{where} are left out: Hyperband and ASHA stop a trial at a low-epoch rung, so "
           f"its best value measures how fast the config made progress in its first epochs, not "
           f"how good it is at the full budget. Mixing them in would favour configs that start "
           f"fast (and often plateau lower) over the ones that win in the end.")
    if len(exp.full) < MIN_HEATMAP_TRIALS:
        return (f"No heatmaps: only {len(exp.full)} trials ran the full budget, fewer than "
                f"{MIN_HEATMAP_TRIALS}; cells of one trial each would show noise, not a trend. "
                f"Run more trials to see them. " + why)
    if not pairs:
        return ("No heatmaps: they pair the most important hyperparameters, and no importance "
                "could be computed (see above). " + why)
    names = ", ".join(f"{a} × {b}" for a, b in pairs)
    return (f"Pairs of the 3 most important hyperparameters: {names}; each cell gives the mean "
            f"{exp.metric} and the number of trials in it; ranges are cut into 5 bins (log bins "
            f"for log-scale priors), categories are kept as they are. " + why)
