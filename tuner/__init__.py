"""tuner: hyperparameter search for PyTorch models on Ray Tune.

Declarative experiments (experiments/*.toml, or `tuner.Experiment` in Python) → search spaces
(searchspaces/) → Bayesian search with Hyperband-family early stopping on Ray → per-trial model
factories → TensorBoard → the best config → final training with one test-set evaluation.
From a shell: `tuner --help`. From Python or a notebook:

    import tuner
    exp = tuner.Experiment("mine", data=(X, y), model=MyNet, metric="accuracy",
                           space={"width": tuner.IntRange(16, 256)})
    result = tuner.run(exp)                  # result.best, result.trials (a DataFrame)
    final = tuner.train_final(result)        # final.model, final.metrics (test)

`import tuner` loads neither torch nor Ray: each name below is imported when first used.
"""

__version__ = "0.1.0"

# name -> the module that defines it
_API = {
    name: "tuner.api"
    for name in ("Experiment", "Result", "Trial", "SpaceView", "Board", "run", "resume",
                 "train_final", "report", "best", "results", "status", "space", "board",
                 "submit", "follow", "predict")
}
_API.update({"Final": "tuner.final", "UserError": "tuner.errors"})
_API.update({
    name: "tuner.spaces"
    for name in ("SearchSpace", "Uniform", "LogUniform", "IntRange", "Choice", "Fixed",
                 "PerLayer", "When")
})

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'tuner' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
