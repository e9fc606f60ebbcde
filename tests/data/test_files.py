"""The file source: .npz, .csv and .parquet round trips, and one exact message per bad input."""

import numpy as np
import pandas as pd
import pytest

from tuner.data import load_data
from tuner.data.arrays import class_labels
from tuner.data.forecast import make_forecast_splits
from tuner.errors import UserError

WHERE = "exp.toml: [data]"
SPLIT = (0.7, 0.15, 0.15)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own folder, so relative paths name files made there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(path, seed=0, **options):
    return load_data("file", split=SPLIT, seed=seed, where=WHERE, path=str(path), **options)


def message(path, **options) -> str:
    with pytest.raises(UserError) as e:
        load(path, **options)
    return str(e.value)


def ids_of(s, column=0):
    """Row ids stored (monotonically) in a feature column, read back through the scaling."""
    parts = [s.x_train, s.x_valid, s.x_test]
    values = np.concatenate([p.reshape(len(p), -1)[:, column] for p in parts])
    rank = {v: i for i, v in enumerate(np.unique(values))}
    out, start = [], 0
    for p in parts:
        out.append(np.array([rank[v] for v in values[start : start + len(p)]]))
        start += len(p)
    return out


# ---------------------------------------------------------------- .npz round trips


def test_npz_tabular_classification():
    n = 100
    x = np.random.default_rng(0).normal(size=(n, 4))
    x[:, 0] = np.arange(n)  # the row id, to follow rows through the split
    np.savez("d.npz", X=x, y=np.arange(n) % 4)
    s = load("d.npz")
    assert s.task == "classification" and s.name == "d.npz"
    assert s.classes == ["0", "1", "2", "3"]
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    # stratified 70/15/15 of each class of 25: 18 / 4 / 3
    assert (len(s.x_train), len(s.x_valid), len(s.x_test)) == (72, 16, 12)
    for y in (s.y_train, s.y_valid, s.y_test):
        assert set(np.bincount(y, minlength=4)) == {len(y) // 4}
    tr, va, te = ids_of(s)
    assert sorted(np.concatenate([tr, va, te])) == list(range(n))  # a partition of the rows
    for ids, y in ((tr, s.y_train), (va, s.y_valid), (te, s.y_test)):
        assert list(y) == list(ids % 4)  # each row keeps its label
    # features standardized with the training rows only
    assert np.allclose(s.x_train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(s.x_train.std(axis=0), 1, atol=1e-4)
    assert s.x_train[:, 0] == pytest.approx((x[tr, 0] - x[tr, 0].mean()) / x[tr, 0].std(),
                                            abs=1e-5)
    assert s.notes == ("task inferred: classification (y: 4 distinct labels); set [data] task "
                       "to override")


def test_npz_string_labels_sorted_and_indexed():
    y = np.array(["cat", "dog", "ant"] * 10)
    np.savez("d.npz", X=np.arange(30.0)[:, None], y=y)
    s = load("d.npz")
    assert s.classes == ["ant", "cat", "dog"]
    tr, _, _ = ids_of(s)
    assert [s.classes[c] for c in s.y_train] == list(y[tr])


def test_class_labels_sort_numbers_numerically():
    assert class_labels(["10", "9", "1"]) == (["1", "9", "10"], pytest.approx([2, 1, 0]))
    classes, y = class_labels(np.array([3, -1, 3]))
    assert classes == ["-1", "3"] and list(y) == [1, 0, 1]


def test_npz_regression_targets_standardized_on_train():
    n = 60
    rng = np.random.default_rng(1)
    x = np.column_stack([np.arange(n), rng.normal(size=n)])
    y = rng.normal(50, 10, size=n)
    np.savez("r.npz", X=x, y=y)
    s = load("r.npz")
    assert s.task == "regression" and s.classes == []
    assert s.y_train.shape == (42, 1) and s.y_train.dtype == np.float32
    assert (len(s.x_valid), len(s.x_test)) == (9, 9)
    tr, va, te = ids_of(s)
    assert s.target_scale == pytest.approx((y[tr].mean(), y[tr].std()))
    mean, std = s.target_scale
    for ids, part in ((tr, s.y_train), (va, s.y_valid), (te, s.y_test)):
        assert part[:, 0] * std + mean == pytest.approx(y[ids], abs=1e-3)
    assert s.naive_mae is None
    assert s.notes == ("task inferred: regression (y: real numbers); set [data] task to "
                       "override")


def test_npz_task_overrides_the_dtype():
    np.savez("i.npz", X=np.arange(40.0)[:, None], y=np.arange(40) * 1.5)
    assert load("i.npz").task == "regression"
    np.savez("c.npz", X=np.arange(40.0)[:, None], y=(np.arange(40) % 2).astype(float))
    s = load("c.npz", task="classification")
    assert s.task == "classification" and s.classes == ["0", "1"] and s.notes == ""
    np.savez("n.npz", X=np.arange(40.0)[:, None], y=np.arange(40) % 2)
    assert load("n.npz", task="regression").y_train.shape == (28, 1)


def test_npz_padded_sequences():
    rng = np.random.default_rng(2)
    n, t, c = 40, 12, 3
    lengths = rng.integers(2, t + 1, n)
    x = rng.normal(5, 3, size=(n, t, c))
    x[np.arange(t)[None, :] >= lengths[:, None]] = np.nan  # padding may hold anything
    x[:, 0, 0] = np.arange(n)
    np.savez("s.npz", X=x, y=np.arange(n) % 2, lengths=lengths)
    s = load("s.npz")
    assert s.input_shape == (t, c) and s.variable_length
    tr, va, te = ids_of(s)
    for ids, ln, part in ((tr, s.lengths_train, s.x_train), (va, s.lengths_valid, s.x_valid),
                          (te, s.lengths_test, s.x_test)):
        assert ln.dtype == np.int64 and list(ln) == list(lengths[ids])
        pad = np.arange(t)[None, :] >= ln[:, None]
        assert (part[pad] == 0).all()
    real = s.x_train[np.arange(t)[None, :] < s.lengths_train[:, None]]
    assert np.allclose(real[:, 1:].mean(axis=0), 0, atol=1e-5)
    assert np.allclose(real[:, 1:].std(axis=0), 1, atol=1e-4)


def test_npz_fixed_length_sequences_standardized_per_channel():
    x = np.random.default_rng(3).normal([0, 10], [1, 5], size=(30, 8, 2))
    np.savez("s.npz", X=x, y=np.arange(30) % 3)
    s = load("s.npz")
    assert s.lengths_train is None and s.input_shape == (8, 2)
    flat = s.x_train.reshape(-1, 2)
    assert np.allclose(flat.mean(axis=0), 0, atol=1e-5)


def test_npz_images_keep_their_8_bit_pixels_and_the_training_statistics():
    x = np.random.default_rng(4).integers(0, 256, size=(30, 1, 4, 4)).astype(np.uint8)
    x[:, 0, 0, 0] = np.arange(30)
    np.savez("img.npz", X=x, y=np.arange(30) % 3)
    s = load("img.npz")
    assert s.input_shape == (1, 4, 4) and s.x_train.dtype == np.uint8  # a quarter of float32
    tr, _, _ = ids_of(s, 0)
    assert np.array_equal(s.x_train, x[tr])
    scale, mean, std = s.pixels  # scaled to [0, 1], then standardized per channel on train
    assert scale == pytest.approx(1 / 255)
    assert mean == pytest.approx((x[tr] / 255).mean()) and std == pytest.approx((x[tr] / 255).std())


def test_npz_same_seed_same_split():
    np.savez("d.npz", X=np.arange(60.0)[:, None], y=np.arange(60) % 3)
    a, b, c = load("d.npz", seed=5), load("d.npz", seed=5), load("d.npz", seed=6)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


# ---------------------------------------------------------------- tables


def table(n=60):
    rng = np.random.default_rng(5)
    return pd.DataFrame({
        "row": np.arange(n),
        "width": rng.normal(size=n),
        "ok": rng.integers(0, 2, n).astype(bool),
        "species": np.array(["setosa", "virginica", "versicolor"])[np.arange(n) % 3],
        "count": np.arange(n) * 7 % 50,
        "price": rng.normal(100, 20, n),
        "grade": np.arange(n) % 4,
    })


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_table_classification_inferred_from_strings(ext):
    df = table()[["row", "width", "species"]]
    df.to_csv("t.csv", index=False) if ext == "csv" else df.to_parquet("t.parquet")
    s = load(f"t.{ext}", target="species")
    assert s.task == "classification" and s.input_shape == (2,)
    assert s.classes == ["setosa", "versicolor", "virginica"]
    assert (len(s.x_train), len(s.x_valid), len(s.x_test)) == (42, 9, 9)
    tr, va, te = ids_of(s)
    assert [s.classes[c] for c in s.y_test] == list(df.species[te])
    assert s.notes == ("task inferred: classification (target 'species': 3 distinct values); "
                       "set [data] task to override")


def test_csv_and_parquet_give_the_same_splits():
    df = table().drop(columns="species")
    df.to_csv("t.csv", index=False)
    df.to_parquet("t.parquet")
    a, b = load("t.csv", target="price"), load("t.parquet", target="price")
    for part in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
        assert np.allclose(getattr(a, part), getattr(b, part), atol=1e-6)


def test_table_regression_and_inference_rules():
    df = table()[["row", "width", "count", "price", "grade"]]
    df.to_csv("t.csv", index=False)
    s = load("t.csv", target="price")
    assert s.task == "regression" and s.input_shape == (4,) and s.y_train.shape == (42, 1)
    tr, _, _ = ids_of(s)
    assert s.target_scale == pytest.approx((df.price[tr].mean(), df.price[tr].std(ddof=0)))
    assert s.notes == ("task inferred: regression (target 'price': real numbers); set [data] "
                       "task to override")
    s = load("t.csv", target="grade")
    assert s.task == "classification" and s.classes == ["0", "1", "2", "3"]
    assert s.notes == ("task inferred: classification (target 'grade': 4 distinct integers); "
                       "set [data] task to override")
    s = load("t.csv", target="count")
    assert s.task == "regression"
    assert s.notes == ("task inferred: regression (target 'count': 50 distinct integers, more "
                       "than 20); set [data] task to override")
    s = load("t.csv", target="grade", task="regression")
    assert s.task == "regression" and s.notes == ""


def test_bool_features_and_targets():
    df = table()[["row", "ok", "width"]]
    df.to_csv("t.csv", index=False)
    assert load("t.csv", target="width").input_shape == (2,)
    s = load("t.csv", target="ok")
    assert s.classes == ["False", "True"]


# ---------------------------------------------------------------- CSV time series


def test_csv_series_sorted_by_time_then_windowed():
    n = 40
    months = pd.date_range("2001-01", periods=n, freq="MS").strftime("%Y-%m-%d")
    values = np.sin(np.arange(n)) * 10 + np.arange(n)
    order = np.random.default_rng(6).permutation(n)  # rows saved out of order
    pd.DataFrame({"month": months[order], "sales": values[order]}).to_csv("s.csv", index=False)
    s = load("s.csv", window=4, horizon=2, time_column="month")
    want = make_forecast_splits(values, name="s.csv", split=SPLIT, window=4, horizon=2,
                                where=WHERE)
    for part in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
        assert np.allclose(getattr(s, part), getattr(want, part))
    assert s.task == "forecasting" and s.target_scale == want.target_scale
    assert s.naive_mae == pytest.approx(np.abs(np.diff(values[:28])).mean())
    assert s.notes == ("series 'sales' from s.csv, sorted by 'month'; chronological split: "
                       "values 0-27 train, 28-33 valid, 34-39 test")


def test_parquet_series_with_value_column():
    pd.DataFrame({"t": np.arange(30), "a": np.arange(30.0), "b": np.arange(30.0) ** 2}
                 ).to_parquet("s.parquet")
    s = load("s.parquet", window=3, value_column="b", time_column="t")
    mean, std = s.target_scale
    assert mean == pytest.approx((np.arange(21.0) ** 2).mean())
    assert s.y_test[-1, 0] * std + mean == pytest.approx(29.0**2)


# ---------------------------------------------------------------- bad inputs


def test_missing_path_option():
    with pytest.raises(UserError) as e:
        load_data("file", split=SPLIT, seed=0, where=WHERE)
    assert str(e.value) == (f"{WHERE} path: required for data source 'file', e.g. path = "
                            f"\"data/train.csv\" (relative paths are relative to the current "
                            f"directory)")


def test_path_problems(in_tmp):
    assert message("nope.npz") == (f"{WHERE} path: nope.npz: no such file (relative paths are "
                                   f"relative to the current directory, {in_tmp}); check the path")
    (in_tmp / "data").mkdir()
    assert message("data") == (f"{WHERE} path: data: data has no class folders; put each "
                               f"class's images in a sub-folder named after the class, e.g. "
                               f"data/cat/1.jpg")
    (in_tmp / "d.txt").write_text("1,2\n")
    assert message("d.txt") == (f"{WHERE} path: d.txt: unsupported file type ('.txt'); use .npz "
                                f"(arrays X and y), .csv or .parquet")
    (in_tmp / "README").write_text("hi\n")
    assert message("README") == (f"{WHERE} path: README: unsupported file type (no extension); "
                                 f"use .npz (arrays X and y), .csv or .parquet")
    with pytest.raises(UserError) as e:
        load_data("file", split=SPLIT, seed=0, where=WHERE, path=3)
    assert str(e.value) == f"{WHERE} path: must be a string, but got 3"


def test_unknown_and_misplaced_options():
    np.savez("d.npz", X=np.zeros((30, 2)), y=np.arange(30) % 3)
    table().to_csv("t.csv", index=False)
    assert message("d.npz", dataset="x") == (f"{WHERE} dataset: not used by data source 'file'; "
                                             f"it takes: path, task, target, window, horizon, "
                                             f"time_column, value_column, transform, layout, "
                                             f"size, text, tokenizer, vocab, length")
    assert message("d.npz", target="y") == (f"{WHERE} target: not used for .npz arrays (it takes: "
                                            f"path, task, layout); X and y are read from the file")
    assert message("d.npz", window=3) == (f"{WHERE} window: not used for .npz arrays (it takes: "
                                          f"path, task, layout); X and y are read from the file")
    assert message("t.csv", target="price", time_column="row") == (
        f"{WHERE} time_column: not used for a table (it takes: path, task, target, text, "
        f"tokenizer, vocab, length); set window "
        f"to forecast a series instead")
    assert message("t.csv", window=3, target="price") == (
        f"{WHERE} target: not used for a time series (it takes: path, task, window, horizon, "
        f"time_column, value_column, transform); window is set; name the series column with value_column")
    assert message("t.csv", window=3, task="regression", value_column="price") == (
        f"{WHERE} task: window is set, which makes t.csv a series to forecast, but task = "
        f"'regression'; drop window to read a table, or drop task")
    assert message("d.npz", task="ranking") == (f"{WHERE} task: must be 'classification', "
                                                f"'regression' or 'forecasting', but got 'ranking'")
    assert message("d.npz", task="forecasting") == (
        f"{WHERE} path: d.npz: task 'forecasting' needs a .csv or .parquet series and window; use "
        f"task = 'classification' or 'regression' for arrays")


def npz_message(**arrays) -> str:
    np.savez("bad.npz", **arrays)
    return message("bad.npz")


AT = f"{WHERE} path: bad.npz"


def test_npz_unreadable(in_tmp):
    (in_tmp / "bad.npz").write_text("not a zip")
    assert message("bad.npz") == (f"{AT}: not an .npz archive (no zip header); save it with "
                                  f"np.savez(path, X=inputs, y=targets)")
    np.savez("bad.npz", X=np.zeros((3, 2)), y=np.array(["a", 1, None], dtype=object))
    assert message("bad.npz") == (f"{AT}: array 'y' holds Python objects, which are never "
                                  f"unpickled; save strings as a string array, e.g. "
                                  f"y=np.array(labels, dtype=str)")


def test_npz_missing_and_unexpected_arrays():
    assert npz_message(x=np.zeros((3, 2)), y=np.zeros(3)) == (
        f"{AT}: missing array 'X' (it holds: x, y); save it with np.savez(path, X=inputs, "
        f"y=targets)")
    assert npz_message(X=np.zeros((3, 2))) == (
        f"{AT}: missing array 'y' (it holds: X); save it with np.savez(path, X=inputs, "
        f"y=targets)")
    assert npz_message(X=np.zeros((3, 2)), y=np.zeros(3), length=np.ones(3)) == (
        f"{AT}: unexpected array 'length' (did you mean 'lengths'?); an .npz holds X, y and "
        f"optionally lengths")


def test_npz_shapes():
    assert npz_message(X=np.zeros(5), y=np.zeros(5)) == (
        f"{AT}: X has shape (5,) (1 dimension(s)); expected (N, features), (N, T, channels), "
        f"or images (N, H, W), (N, H, W, C), (N, C, H, W)")
    assert npz_message(X=np.zeros((2, 1, 1, 1, 1)), y=np.zeros(2)) == (
        f"{AT}: X has shape (2, 1, 1, 1, 1) (5 dimension(s)); expected (N, features), "
        f"(N, T, channels), or images (N, H, W), (N, H, W, C), (N, C, H, W)")
    assert npz_message(X=np.array([["a"]]), y=np.zeros(1)) == (
        f"{AT}: X must hold numbers, but has dtype <U1; convert it, e.g. X.astype(np.float32)")
    assert npz_message(X=np.zeros((5, 2)), y=np.zeros(4)) == (
        f"{AT}: X has 5 rows but y has 4; they must match one to one")
    assert npz_message(X=np.zeros((5, 2)), y=np.zeros((5, 2))) == (
        f"{AT}: y has shape (5, 2); expected (N,): one label or value per row")


def test_npz_lengths():
    x = np.zeros((4, 6, 2))
    assert npz_message(X=np.zeros((4, 6)), y=np.zeros(4), lengths=np.ones(4, int)) == (
        f"{AT}: lengths is only for padded sequences (N, T, channels), but X has shape (4, 6); "
        f"drop lengths")
    assert npz_message(X=x, y=np.zeros(4), lengths=np.array([1, 6, 0, 7])) == (
        f"{AT}: lengths must be between 1 and 6 (X's time axis), but 2 are not (first: "
        f"lengths[2] = 0)")
    assert npz_message(X=x, y=np.zeros(4), lengths=np.ones(3, int)) == (
        f"{AT}: lengths has shape (3,); expected (4,): one true length per row of X")
    assert npz_message(X=x, y=np.zeros(4), lengths=np.ones(4)) == (
        f"{AT}: lengths must be integers, but has dtype float64")


def test_npz_nan_and_inf():
    x = np.zeros((30, 3))
    x[4, 1], x[9, 2] = np.nan, np.inf
    assert npz_message(X=x, y=np.arange(30) % 3) == (
        f"{AT}: X has 2 NaN or infinite value(s) (first at X[4, 1]); fill or drop them before "
        f"saving")
    seq = np.zeros((30, 5, 2))
    seq[7, 3, 1] = np.nan  # inside sequence 7 (length 5)
    seq[2, 4, 0] = np.nan  # padding of sequence 2 (length 4): ignored
    lengths = np.full(30, 5)
    lengths[2] = 4
    assert npz_message(X=seq, y=np.arange(30) % 3, lengths=lengths) == (
        f"{AT}: X has 1 NaN or infinite value(s) (first at X[7, 3, 1]); fill or drop them "
        f"before saving")
    y = np.arange(30.0)
    y[[5, 6, 7]] = np.nan
    assert npz_message(X=np.zeros((30, 2)), y=y) == (
        f"{AT}: y has 3 NaN or infinite value(s) (first at y[5]); fill or drop them before "
        f"saving")


def test_npz_labels_neither_integers_nor_strings():
    assert npz_message(X=np.zeros((3, 2)), y=np.ones(3, dtype=complex)) == (
        f"{AT}: y must hold integers or strings (class labels) or floats (regression targets), "
        f"but has dtype complex128")
    np.savez("bad.npz", X=np.zeros((30, 2)), y=np.arange(30) / 4)
    assert message("bad.npz", task="classification") == (
        f"{AT}: y holds non-integer numbers (e.g. {0.25!r}), which cannot be class labels; save "
        f"integer or string labels, or set task = 'regression'")
    np.savez("bad.npz", X=np.zeros((30, 2)), y=np.array(["a", "b"] * 15))
    assert message("bad.npz", task="regression") == (
        f"{AT}: y holds strings (e.g. 'a'), which cannot be regression targets; set task = "
        f"'classification' or encode them")


def test_too_few_rows():
    assert npz_message(X=np.zeros((32, 2)), y=np.array(["a"] * 30 + ["rare"] * 2)) == (
        f"{AT}: class 'rare' has 2 example(s), too few for the split [0.7, 0.15, 0.15]; every "
        f"class needs at least one example in each of train, valid and test; add examples, drop "
        f"the class or change [data] split")
    assert npz_message(X=np.zeros((4, 2)), y=np.arange(4.0)) == (
        f"{AT}: 4 row(s) are too few for the split [0.7, 0.15, 0.15] (3 train / 1 valid / 0 "
        f"test); every split needs at least one row; add rows or change [data] split")


T = f"{WHERE} path: t.csv"


def test_table_target_problems():
    table().to_csv("t.csv", index=False)
    columns = "row, width, ok, species, count, price, grade"
    assert message("t.csv") == (f"{WHERE} target: required for a table: the column to predict, "
                                f"e.g. target = \"grade\"; columns in t.csv: {columns}")
    assert message("t.csv", target="specie") == (
        f"{WHERE} target: no column 'specie' in t.csv (did you mean 'species'?); columns: "
        f"{columns}")
    table()[["price"]].to_csv("t.csv", index=False)
    assert message("t.csv", target="price") == (
        f"{T}: no feature columns besides the target 'price'; add input columns")
    table()[["row", "species"]].to_csv("t.csv", index=False)
    assert message("t.csv", target="species", task="regression") == (
        f"{T}: target 'species' holds strings (e.g. 'setosa'), which cannot be regression "
        f"targets; set task = 'classification' or encode them")


def test_table_missing_values(in_tmp):
    (in_tmp / "t.csv").write_text("a,b,y\n1,2,x\n3,,y\n5,6,\n,inf,x\n")
    assert message("t.csv", target="y") == (
        f"{T}: 1 infinite value(s) in feature columns (first: column 'b', data row 4); "
        f"replace them (a missing value may stay empty: it is filled)")
    (in_tmp / "t.csv").write_text("a,y\n1,x\n3,y\n5,\n6,\n")
    assert message("t.csv", target="y") == (
        f"{T}: 2 missing or infinite value(s) in the target column 'y' (first: data row 3); "
        f"fill or drop them")


def test_table_unreadable(in_tmp):
    (in_tmp / "t.csv").write_text("")
    assert message("t.csv", target="y") == f"{T}: the file is empty; write a header row and data rows"
    (in_tmp / "t.csv").write_text("a,y\n")
    assert message("t.csv", target="y") == f"{T}: no data rows (columns: a, y); add rows"
    (in_tmp / "t.csv").write_bytes(bytes(range(256)) * 4)
    text = message("t.csv", target="y")
    assert text.startswith(f"{T}: could not read it as CSV (UTF-8, comma-separated, one header "
                           f"row) (UnicodeDecodeError: ")
    assert text.endswith("); check the file") and "\n" not in text
    (in_tmp / "t.parquet").write_text("not parquet")
    text = message("t.parquet", target="y")
    assert text.startswith(f"{WHERE} path: t.parquet: could not read it as Parquet (ArrowInvalid: ")
    assert text.endswith("); check the file")


S = f"{WHERE} path: s.csv"


def test_series_problems(in_tmp):
    pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0)}).to_csv("s.csv", index=False)
    assert message("s.csv", window=3) == (
        f"{WHERE} value_column: required because s.csv has 2 numeric columns (a, b); name the "
        f"series column, e.g. value_column = \"a\"")
    assert message("s.csv", window=3, value_column="c") == (
        f"{WHERE} value_column: no column 'c' in s.csv; columns: a, b")
    assert message("s.csv", window=8, value_column="a") == (
        f"{S}: the train split has 7 of the series' 10 values, too few for window 8 + horizon 1 "
        f"(needs at least 9); lower [data] window or horizon, change [data] split, or use a "
        f"longer series")
    pd.DataFrame({"name": list("abcdefghij")}).to_csv("s.csv", index=False)
    assert message("s.csv", window=3) == (
        f"{WHERE} value_column: required because s.csv has no numeric column; name the series "
        f"column, e.g. value_column = \"name\"")
    assert message("s.csv", window=3, value_column="name") == (
        f"{S}: value column 'name' is not numeric; name a numeric column with value_column")
    (in_tmp / "s.csv").write_text("t,v\n2020-01,1\n2020-02,\n2020-03,3\n2020-04,nan\n")
    assert message("s.csv", window=1, time_column="t") == (
        f"{S}: 2 missing or infinite value(s) in the value column 'v' (first: data row 2); fill "
        f"or drop them")
    (in_tmp / "s.csv").write_text("t,v\n2020-01,1\n2020-02,2\n2020-01,3\n")
    assert message("s.csv", window=1, time_column="t") == (
        f"{S}: time column 't' repeats '2020-01'; a series needs one value per time; drop or "
        f"merge the repeated rows")
    (in_tmp / "s.csv").write_text("t,v\nmonday,1\ntuesday,2\nfriday,3\n")
    text = message("s.csv", window=1, time_column="t")
    assert text.startswith(f"{S}: could not read time column 't' as dates (")
    assert text.endswith("); use ISO dates like 2020-01-31 or numbers")
    assert message("s.csv", window=1, time_column="when") == (
        f"{WHERE} time_column: no column 'when' in s.csv; columns: t, v")


@pytest.mark.parametrize("opt", [{"window": 0}, {"window": 2, "horizon": True}])
def test_series_window_options(opt):
    pd.DataFrame({"v": np.arange(30.0)}).to_csv("s.csv", index=False)
    key, value = list(opt.items())[-1]
    assert message("s.csv", **opt) == (f"{WHERE} {key}: must be an integer between 1 and 100000, "
                                       f"but got {value!r}")


def test_string_feature_columns_are_one_hot_encoded_from_the_training_rows_only(
        tmp_path, monkeypatch):
    import pandas as pd

    import tuner.data.tables as tables

    rng = np.random.default_rng(0)
    n = 120
    colour = rng.choice(["red", "green", "blue"], n).astype(object)
    frame = pd.DataFrame({"size": rng.normal(size=n), "colour": colour,
                          "label": (colour == "red").astype(int)})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    s = load_data("file", split=(0.7, 0.15, 0.15), seed=0, where=WHERE, path=str(path),
                  target="label")
    assert ("one-hot encoded 'colour' (3 categories), from the training rows only; a category "
            "they lack is all zeros") in s.notes
    assert s.x_train.shape[1] == 4  # size + red, green, blue
    # unseen in training → zeros; beyond the cap, the rare ones share "other"; missing in
    # training rows → its own category
    monkeypatch.setattr(tables, "MAX_CATEGORIES", 2)
    enc = tables.TableEncoder(np.zeros((7, 0)),
                              pd.DataFrame({"c": ["a", "a", "b", "b", "c", None, "z"]}), [])
    x, notes = enc.fit_transform(np.arange(6))  # columns a, b, other, missing
    assert x.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],
                          [0, 0, 0, 1], [0, 0, 0, 0]]
    assert notes.startswith("one-hot encoded 'c' (3 categories, the 2 most frequent and other)")


def test_missing_table_values_are_filled_from_the_training_rows_and_said(in_tmp):
    """Numeric gaps: the training rows' median, with an indicator column; a missing category:
    its own; a column empty in every training row: dropped; the target's gaps: an error."""
    from tuner.data import tables

    numbers = np.array([[1.0, np.nan, np.nan], [3.0, 10.0, np.nan], [np.nan, 20.0, np.nan],
                        [5.0, 30.0, np.nan], [np.nan, 40.0, 7.0], [9.0, np.nan, 1.0]])
    cats = pd.DataFrame({"c": ["a", None, "b", "a", "b", None],
                         "gone": [None, None, None, None, "x", "y"]})
    enc = tables.TableEncoder(numbers, cats, ["n", "m", "empty"])
    x, notes = enc.fit_transform(np.arange(4))  # rows 4, 5: validation and test
    # n's training median is 3 (of 1, 3, 5), m's 20 (of 10, 20, 30); indicators for n and m
    assert x[:, :4].tolist() == [[1, 20, 0, 1], [3, 10, 0, 0], [3, 20, 1, 0], [5, 30, 0, 0],
                                 [3, 40, 1, 0], [9, 20, 0, 1]]
    # c: a, b and 'missing' (training rows have one)
    assert x[:, 4:].tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 0],
                                 [0, 0, 1]]
    assert notes == (
        "4 missing numeric value(s) filled with the training rows' median, a missing-indicator "
        "column beside 'n', 'm'; one-hot encoded 'c' (2 categories), from the training rows "
        "only; a category they lack is all zeros; 2 missing categories read as 'missing'; "
        "dropped 'empty', 'gone': empty in every training row")
    # a category missing only outside the training rows is all zeros, not counted as 'missing'
    x, notes = tables.TableEncoder(np.zeros((4, 0)), pd.DataFrame({"c": ["a", "b", "a", None]}),
                                   []).fit_transform(np.arange(3))
    assert x.tolist()[-1] == [0, 0] and "missing" not in notes
    # numeric columns all empty in the training rows: nothing left to learn from
    with pytest.raises(UserError, match=r"^every feature column is empty in the training rows "
                                        r"\('n'\); fill them or add columns$"):
        tables.TableEncoder(np.array([[np.nan], [np.nan], [1.0]]), None, ["n"]).fit_transform(
            np.arange(2))
    # through a file: the data line says it, the model trains on it
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=60), "kind": rng.choice(["p", "q"], 60),
                          "label": rng.choice(["x", "y"], 60)})
    frame.loc[[3, 8, 20], "size"] = np.nan
    frame.loc[[5], "kind"] = None
    frame.to_csv("t.csv", index=False)
    s = load_data("file", split=(0.7, 0.15, 0.15), seed=0, where=WHERE, path="t.csv",
                  target="label")
    assert "missing numeric value(s) filled with the training rows' median" in s.notes
    assert np.isfinite(s.x_train).all() and np.isfinite(s.x_test).all()

