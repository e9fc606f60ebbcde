"""The report page: one HTML file, its images embedded as base64 PNG."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from tuner.reporting._advice import LOW, Item
from tuner.reporting._data import Experiment, fmt
from tuner.reporting._importance import Importance
from tuner.vocabulary import STATUSES, Status

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h3 { font-size: 1em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; }
td, th { padding: 3px 9px; border-bottom: 1px solid #eee; text-align: left; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.stopped { color: #777; }
img { max-width: 100%; } .note { background: #f7f7f2; border-left: 3px solid #bba;
      padding: .5em 1em; } code { background: #f3f3f3; padding: 0 3px; }
li { margin: .35em 0; }
"""


def render(exp: Experiment, imp: Importance, advice: list[Item], images: dict[str, Path],
           heatmap_note: str, final: dict | None = None) -> str:
    e = html.escape
    s = exp.spec.search
    best = exp.ranked[0]
    counts = " · ".join(f"{exp.count(st)} {st}" for st in STATUSES if exp.count(st))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>tuner report: {e(exp.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>tuner report: {e(exp.name)}</h1>",
        f"<p>{e(exp.spec.description)}</p>" if exp.spec.description else "",
        f"<p>{len(exp.records)} trials · {counts}<br>{e(s.searcher)} + {e(s.scheduler)}, "
        f"{e(exp.metric)} ({e(s.mode)}), {exp.max_epochs} epochs per trial, model "
        f"{e(exp.spec.factory)}, space {e(exp.spec.space_module)}<br>best: <b>{e(best.trial)}"
        f"</b>, {e(exp.metric)} {best.value(exp.metric):.4g} at epoch "
        f"{best.best_epoch.get(exp.metric, best.epochs)} ({e(best.status)})</p>",
        *_final(final),
        "<h2>Advice on the space</h2>",
        _advice(advice),
        "<h2>Best trials</h2>",
        _table(exp, imp),
        "<h2>Hyperparameter importance</h2>",
        _importance(exp, imp, images),
        "<h2>Learning curves</h2>",
        _img(images["curves"], "learning curves"),
        f"<p>{e(exp.metric)} on the validation split after each epoch. Grey: trials the "
        f"scheduler stopped early; blue: trials that ran all {exp.max_epochs} epochs; red: the "
        f"best trial. The y axis zooms on the good end.</p>",
        "<h2>Parallel coordinates</h2>",
        _img(images["parallel"], "parallel coordinates"),
        f"<p>One axis per hyperparameter, the most important first; each line is a trial, "
        f"coloured by its best {e(exp.metric)} if it ran the full budget, grey if it was stopped "
        f"early. Log-scale priors have log axes; categories sit at even steps.</p>",
        "<h2>Pairs of the most important hyperparameters</h2>",
        _img(images["heatmaps"], "heatmaps") if "heatmaps" in images else "",
        f"<p class='note'>{e(heatmap_note)}</p>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _final(final: dict | None) -> list[str]:
    """The test split once: the tuned model beside the reference (and the naive forecast)."""
    if not final:
        return []
    e = html.escape
    names = [k for k, v in final.items() if k.startswith("test_") and isinstance(v, float)]
    trained = f"{final.get('epochs', '?')} epochs on {final.get('train_examples', '?')} examples"
    seeds = final.get("seeds") if isinstance(final.get("seeds"), list) else []
    rows = [("tuned model", trained if len(seeds) < 2 else
             f"the ensemble of {len(seeds)} seeds, each {trained}", final)]
    if len(seeds) > 1 and isinstance(final.get("seed_mean"), dict):
        rows.append(("one seed", "the mean over the seeds", final["seed_mean"]))
    ref = final.get("reference") or {}
    if ref.get("model"):
        rows.append(("reference", f"{ref['model']}, {ref.get('seconds', 0):.1f} s", ref))
    if final.get("naive"):
        rows.append(("naive forecast", "the last value repeated", final["naive"]))
    head = "".join(f"<th>{e(n.removeprefix('test_'))}</th>" for n in names)
    body = "".join(
        f"<tr><td>{e(who)}</td><td>{e(what)}</td>" + "".join(
            f"<td class='num'>{m[n]:.4f}</td>" if isinstance(m.get(n), float) else "<td></td>"
            for n in names) + "</tr>" for who, what, m in rows)
    said = ref.get("verdict") or ref.get("absent") or ""
    said = f"<p>{e(said[:1].upper() + said[1:])}.</p>" if said else ""
    return ["<h2>Final model on the test split</h2>",
            f"<p>Trained on train + valid, tested once on {final.get('test_examples', '?')} "
            f"held-out examples; the reference is the off-the-shelf model fitted on the same "
            f"rows.</p>",
            f"<table><tr><th></th><th></th>{head}</tr>{body}</table>", said]


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"<p><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'></p>"


ADVICE = (
    (("fix", "note"), "Dimensions that barely matter", "No dimension falls below the threshold."),
    (("edge",), "Ranges whose best values sit on an edge",
     "No range has its best full-budget trials crowded into one end."),
    (("budget",), "How many trials this space calls for", ""),
)


def _advice(items: list[Item]) -> str:
    out = []
    for topics, title, none in ADVICE:
        rows = []
        for it in (i for i in items if i.topic in topics):
            toml = f"<br><code>[space] {html.escape(it.toml)}</code>" if it.toml else ""
            rows.append(f"<li>{html.escape(it.text)}{toml}</li>")
        out.append(f"<h3>{title}</h3>" + ("<ul>" + "".join(rows) + "</ul>" if rows else
                                          f"<p>{none}</p>"))
    return "".join(out)


def _table(exp: Experiment, imp: Importance) -> str:
    keys = (list(imp.values) + [n for n in exp.params if n not in imp.values])[:6]
    head = ["trial", "status", "epochs", f"best {exp.metric}", "at epoch", *keys]
    rows = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for r in exp.ranked[:10]:
        cells = [r.trial, r.status, r.epochs, f"{r.value(exp.metric):.4g}",
                 r.best_epoch.get(exp.metric, r.epochs),
                 *(fmt(r.config[k]) if k in r.config else "—" for k in keys)]
        tds = "".join(f"<td class='num'>{html.escape(str(c))}</td>" if i >= 2 else
                      f"<td>{html.escape(str(c))}</td>" for i, c in enumerate(cells))
        cls = " class='stopped'" if r.status != Status.COMPLETED else ""
        rows.append(f"<tr{cls}>{tds}</tr>")
    return "".join(rows) + "</table>" + (
        "<p>Top 10 of the trials with a result. Hyperparameter columns: the most important "
        "first.</p>")


def _importance(exp: Experiment, imp: Importance, images: dict[str, Path]) -> str:
    e = html.escape
    if not imp.values:
        return f"<p class='note'>No importance: {e(imp.problem)}.</p>"
    table = "<table><tr><th>hyperparameter</th><th>importance</th></tr>" + "".join(
        f"<tr><td>{e(n)}</td><td class='num'>{v:.3f}</td></tr>" for n, v in imp.values.items()
    ) + "</table>"
    left = ""
    if imp.left_out:
        left = ("<p>Left out (fANOVA needs a value in every trial): " + "; ".join(
            f"<b>{e(n)}</b>: {e(why)}" for n, why in imp.left_out.items()) + ".</p>")
    return (
        _img(images["importance"], "importance")
        + f"<p>fANOVA (Optuna's FanovaImportanceEvaluator, seed 0): the share of the variance of "
        f"the best {e(exp.metric)} each hyperparameter explains on its own, from the "
        f"{imp.trials} trials that ran the full budget"
        f"{f' (a random sample of the {imp.of})' if imp.of > imp.trials else ''}. Below {LOW}: "
        f"it barely matters.</p>"
        + table + left)
