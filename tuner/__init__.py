"""tuner: hyperparameter search for PyTorch models on Ray Tune.

Declarative experiments (experiments/*.toml) → search spaces (searchspaces/) → Bayesian search
with Hyperband-family early stopping on Ray → per-trial model factories → TensorBoard → the best
config → final training with one test-set evaluation. Run `tuner --help`.
"""

__version__ = "0.1.0"
