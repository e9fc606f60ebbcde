"""Gradient-boosted trees for tables: scikit-learn's HistGradientBoosting, boosted by epochs.

Grinsztajn, Oyallon & Varoquaux (2022), "Why do tree-based models still outperform deep
learning on typical tabular data?": on tables of mixed, unevenly informative columns, boosted
trees are the model to beat. The trees are scikit-learn's (histogram-based, as LightGBM's);
tuner gives them the same searchers, schedulers and budget as the nets: an epoch adds
`rounds` boosting rounds (warm start), so ASHA divides rounds as it divides epochs, and the
validation metrics after each epoch decide as for any trial.

Config keys: learning_rate (the shrinkage of each round), max_leaf_nodes, min_samples_leaf,
l2_regularization, max_features (the share of columns each split may use), rounds (per
epoch). A classifier's scores are its raw log-odds (binary: the second class's against 0), a
regressor's its predictions, one regressor per output.

The trees' nodes (split column, threshold, where a missing value goes, children, leaf values)
are kept as tensors in the state_dict: a saved model loads with `torch.load(weights_only=True)`
and is predicted by a traversal of them in torch, on any device. While a model trains, its
live scikit-learn estimators score the rows instead (the same numbers, from compiled code:
thousands of trees score every training row each epoch); the tests hold the two equal.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tuner.models.layers import TrainsByRounds

ROUNDS = 20  # boosting rounds per epoch


class BoostedTrees(TrainsByRounds, nn.Module):
    """(B, F) features → (B, outputs) scores of trees boosted `rounds` more per `boost`."""

    def __init__(self, features: int, n_outputs: int, config: dict, *, seed: int):
        super().__init__()
        self.features, self.n_outputs, self.seed = int(features), int(n_outputs), int(seed)
        self.rounds = int(config.get("rounds", ROUNDS))
        self.options = {
            "learning_rate": float(config.get("learning_rate", 0.1)),
            "max_leaf_nodes": int(config.get("max_leaf_nodes", 31)),
            "min_samples_leaf": int(config.get("min_samples_leaf", 20)),
            "l2_regularization": float(config.get("l2_regularization", 0.0)),
            "max_features": float(config.get("max_features", 1.0)),
        }
        self.done = 0  # rounds boosted so far
        self.estimators: list = []  # the live scikit-learn models (not saved)
        # what a saved model carries, exported from the estimators when a state_dict is taken:
        # the nodes of all trees, field by field (see _pack), and each output's starting score
        self.trees: dict = {}
        self.baseline = torch.zeros(self.n_outputs)
        self.classes = torch.zeros(0, dtype=torch.long)  # a classifier's, as fitted
        self._packed: dict = {}

    # -- boosting ---------------------------------------------------------------------------

    def _estimator(self, classify: bool):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(max_iter=self.done + self.rounds, warm_start=True, early_stopping=False,
                   random_state=self.seed, categorical_features=None, **self.options)

    @torch.no_grad()
    def boost(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """`rounds` more boosting rounds on these training rows (the same rows every epoch)."""
        xs = x.detach().reshape(len(x), -1).double().cpu().numpy()
        classify = not y.is_floating_point()
        ys = y.detach().cpu().numpy()
        targets = [ys] if classify else [c for c in ys.reshape(len(ys), -1).T]
        if not self.estimators:  # the first epoch, or resumed from a saved state: refit
            self.estimators = [self._estimator(classify) for _ in targets]
        for est, target in zip(self.estimators, targets, strict=True):
            est.set_params(max_iter=self.done + self.rounds)
            est.fit(xs, target)
        if classify:
            self.classes = torch.as_tensor(self.estimators[0].classes_.astype(np.int64))
        self.done += self.rounds

    def _export(self) -> None:
        """The live estimators' trees as `trees` and `baseline` (a saved model's form)."""
        rows, output, baseline = [], [], np.zeros(self.n_outputs)
        if len(self.classes):
            est = self.estimators[0]
            columns = self._columns()
            baseline[columns] = est._baseline_prediction.ravel()
            for trees in est._predictors:
                for k, tree in enumerate(trees):
                    rows.append(tree.nodes)
                    output.append(int(columns[k]))
        else:
            for j, est in enumerate(self.estimators):
                baseline[j] = float(est._baseline_prediction.ravel()[0])
                for trees in est._predictors:
                    rows.append(trees[0].nodes)
                    output.append(j)
        self.baseline = torch.as_tensor(baseline, dtype=torch.float32)
        self.trees = _pack(rows, output)
        self._packed = {}

    # -- prediction -------------------------------------------------------------------------

    def _on(self, device) -> dict:
        if not self._packed or self._packed["output"].device != device:
            index = ("feature", "left", "right")  # int32 when saved, int64 to index with
            self._packed = {k: v.to(device, torch.long) if k in index else v.to(device)
                            for k, v in self.trees.items()}
        return self._packed

    def _columns(self) -> np.ndarray:
        """The output column of each raw score: a binary classifier's one log-odds score is
        the second class's, a multiclass one scores every class, a regressor each output."""
        if not len(self.classes):
            return np.arange(self.n_outputs)
        classes = self.classes.numpy()
        return classes[1:] if len(classes) == 2 else classes

    def _live_scores(self, x: torch.Tensor) -> torch.Tensor:
        """The live estimators' own raw scores (scikit-learn's compiled traversal: the same
        numbers as `_leaf_values`, faster while training, when thousands of trees score
        every training row each epoch)."""
        xs = x.detach().double().cpu().numpy()
        raw = np.zeros((len(xs), self.n_outputs))
        if len(self.classes):
            raw[:, self._columns()] = self.estimators[0]._raw_predict(xs)
        else:
            for j, est in enumerate(self.estimators):
                raw[:, j] = est._raw_predict(xs)[:, 0]
        return torch.as_tensor(raw, dtype=torch.float32, device=x.device)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = x.reshape(len(x), -1).float()
        if self.estimators:
            out = self._live_scores(x)
        else:  # loaded from a saved state: the trees' nodes, traversed in torch
            out = self.baseline.to(x.device).expand(len(x), -1).clone()
            if self.trees:
                t = self._on(x.device)
                out.index_add_(1, t["output"], _leaf_values(t, x))
        if 0 < len(self.classes) < self.n_outputs:
            # classes the training rows lacked (a fold without them) are never predicted
            absent = torch.ones(self.n_outputs, dtype=torch.bool, device=x.device)
            absent[self.classes.to(x.device)] = False
            out[:, absent] = -1e4
        return out

    # -- what a saved model carries ---------------------------------------------------------

    def get_extra_state(self) -> dict:
        if self.estimators:
            self._export()
        return {"done": self.done, "seed": self.seed, "classes": self.classes,
                "baseline": self.baseline, "trees": dict(self.trees)}

    def set_extra_state(self, state: dict) -> None:
        self.done, self.seed = int(state["done"]), int(state["seed"])
        self.classes = state["classes"].long()
        self.baseline = state["baseline"].float()
        self.trees = dict(state["trees"])
        self.estimators, self._packed = [], {}


def _pack(rows: list, output: list) -> dict:
    """Trees' node records → flat tensors, one per field, nodes of all trees end to end
    (children as indices into them), with each tree's first node and its output column."""
    if not rows:
        return {}
    sizes = np.array([len(r) for r in rows])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    nodes = np.concatenate(rows)
    shift = np.repeat(first, sizes)
    # float32 features compared with a float64 threshold: round it down, so x <= t holds
    # exactly where scikit-learn's comparison of the float64 value holds
    t = nodes["num_threshold"]
    t32 = t.astype(np.float32)
    t32 = np.where(t32.astype(np.float64) > t, np.nextafter(t32, np.float32(-np.inf)), t32)
    leaf = nodes["is_leaf"].astype(bool)
    return {
        "feature": torch.from_numpy(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32)),
        "threshold": torch.from_numpy(t32.astype(np.float32)),
        "left": torch.from_numpy((nodes["left"] + shift).astype(np.int32)),
        "right": torch.from_numpy((nodes["right"] + shift).astype(np.int32)),
        "leaf": torch.from_numpy(leaf),
        "missing_left": torch.from_numpy(nodes["missing_go_to_left"].astype(bool)),
        "value": torch.from_numpy(nodes["value"].astype(np.float32)),
        "first": torch.from_numpy(first.astype(np.int64)),
        "output": torch.as_tensor(output, dtype=torch.long),
    }


def _leaf_values(t: dict, x: torch.Tensor) -> torch.Tensor:
    """(B, trees): the value of the leaf each example reaches in each tree, all trees at once
    (one gather per level of depth)."""
    node = t["first"][None, :].expand(len(x), -1)
    while True:
        leaf = t["leaf"][node]
        if bool(leaf.all()):
            break
        v = torch.gather(x, 1, t["feature"][node])
        go_left = torch.where(torch.isnan(v), t["missing_left"][node],
                              v <= t["threshold"][node])
        child = torch.where(go_left, t["left"][node], t["right"][node])
        node = torch.where(leaf, node, child)
    return t["value"][node]


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """Boosted trees over flat features (a table's columns; anything else flattened)."""
    features = int(np.prod(input_shape))
    seed = int(torch.randint(2**31 - 1, ()).item())  # the trial's torch seed
    return BoostedTrees(features, n_outputs, config, seed=seed)
