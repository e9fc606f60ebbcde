"""Everything tuner does with Ray beyond its public API, behind one door.

session      starting or joining Ray quietly, on loopback; Ctrl-C; a vanished working dir
search       the trainable, the `tune.Tuner` (new or restored), its fit
naming       trial_001, trial_002, ... across resumes
checkpoints  which checkpoint a trial resumes from or deletes (Ray's `_TrainingResult`)
saved        Ray Tune's on-disk experiment state, read and written; `check_format`
reconcile    tuner's records and Ray's saved state made to agree: `reconcile` before a resume

Which ledger wins (the rule `reconcile` applies): a trial that has ended in tuner's records
(trials.json, written as each trial ends) has ended, whatever Ray's periodically saved state
says; for every other trial Ray's saved state wins, since it is what `Tuner.restore` continues.

Ray's private modules (`ray._private`, `ray.air._internal`, `ray.train._internal`) and its
on-disk formats are named in this subpackage only; pyproject.toml caps `ray` at the newest
minor release the suite passes on; tests/test_end_to_end.py checks the saved format on a real
search and tests/raytune pins what `check_format` says when it differs.
Nothing here imports Ray at module level.
"""
