"""tuner from Python (a notebook, a script): every command-line verb as a function, with the
same checks, the same one-line messages (raised as `tuner.UserError`) and the same folders on
disk, so `tuner status / best / board / report` read a search started here and the other way
round.

An experiment is a file, or built in Python from your arrays and your model class:

>>> import numpy as np, tuner
>>> x, y = np.random.default_rng(0).normal(size=(60, 4)), np.arange(60) % 2
>>> exp = tuner.Experiment("doc_table", data=(x, y), model="mlp", metric="accuracy",
...                        samples=4, max_epochs=2)
>>> exp.spec.search.samples, exp.spec.data.source
(4, 'file')

Bad input is one line, before anything starts, as on the command line:

>>> tuner.Experiment("doc_bad", data=(x, y[:50]))
Traceback (most recent call last):
...
tuner.errors.UserError: Experiment 'doc_bad': data: X has 60 rows but y has 50; they must \
match one to one
>>> tuner.Experiment("doc_bad", data=(x, y), sampels=4)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tuner.errors.UserError: Experiment 'doc_bad': sampels: unknown setting (did you mean \
'samples'?); it takes the [search] keys (searcher, scheduler, metric, mode, samples, ...

Then `result = tuner.run(exp)`, `result.best.config`, `result.trials` (a DataFrame),
`tuner.train_final(result).model`, `tuner.report(result)`.

The library layer under both front doors: `tuner <verb>` (tuner.commands) prints what these
functions return. experiment.py builds experiments, searching.py starts trials, reading.py
reads searches, training.py trains the final model, results.py holds what they return.
"""

from tuner.api.experiment import Experiment
from tuner.api.reading import (
    best,
    board,
    jobs,
    report,
    results,
    space,
    status,
    storage_name,
    storage_root,
    summaries,
)
from tuner.api.results import Board, Result, SpaceView, Trial
from tuner.api.searching import follow, resume, run, submit
from tuner.api.training import train_final
from tuner.prediction import predict

__all__ = ["Board", "Experiment", "Result", "SpaceView", "Trial", "best", "board", "follow",
           "jobs", "predict", "report", "resume", "results", "run", "space", "status",
           "storage_name", "storage_root", "submit", "summaries", "train_final"]
