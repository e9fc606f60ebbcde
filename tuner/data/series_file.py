"""A time series to forecast from a CSV / Parquet table: its value column, sorted by its time
column, windowed after a chronological split (tuner.data.forecast)."""

from __future__ import annotations

import warnings

import numpy as np

from tuner.data.files import _why
from tuner.data.forecast import make_forecast_splits, transform_option
from tuner.data.options import int_option, str_option
from tuner.data.splits import Splits
from tuner.data.tables import check_column, numeric_column
from tuner.errors import UserError


def from_series(where, at, raw, name, table, options, split) -> Splits:
    window = None if options.get("window") is None else int_option(
        where, options, "window", None, 1, 100_000)  # None: two of the series' own cycles
    horizon = int_option(where, options, "horizon", 1, 1, 100_000)
    time_column = str_option(where, options, "time_column")
    value_column = str_option(where, options, "value_column")
    if time_column is not None:
        check_column(where, "time_column", time_column, raw, table)
        table = table.sort_values(time_column, kind="stable", key=lambda c: _times(at, c))
    if value_column is None:
        numeric = [c for c in table.columns if c != time_column and numeric_column(table[c])]
        if len(numeric) != 1:
            has = (f"{len(numeric)} numeric columns ({', '.join(numeric)})" if numeric
                   else "no numeric column")
            raise UserError(f"{where} value_column: required because {raw} has {has}; name the "
                            f'series column, e.g. value_column = '
                            f'"{(numeric or list(table.columns))[0]}"')
        value_column = numeric[0]
    check_column(where, "value_column", value_column, raw, table)
    col = table[value_column]
    if not numeric_column(col):
        raise UserError(f"{at}: value column {value_column!r} is not numeric; name a numeric "
                        f"column with value_column")
    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    # data rows in file order, so the message points at the line to fix
    rows = table.index.to_numpy()
    bad = ~np.isfinite(values)
    if bad.any():
        raise UserError(f"{at}: {int(bad.sum())} missing or infinite value(s) in the value column "
                        f"{value_column!r} (first: data row {int(rows[bad].min()) + 1}); fill "
                        f"or drop them")
    order = f", sorted by {time_column!r}" if time_column else ""
    return make_forecast_splits(values, name=name, split=split, window=window, horizon=horizon,
                                where=at, notes=f"series {value_column!r} from {raw}{order}",
                                transform=transform_option(where, options))


def _times(at: str, col):
    """Sort keys of a time column: numbers as they are, anything else parsed as dates."""
    import pandas as pd

    if col.isna().any():
        raise UserError(f"{at}: time column {col.name!r} has {int(col.isna().sum())} missing "
                        f"value(s); fill or drop those rows")
    if col.duplicated().any():
        again = str(col[col.duplicated()].iloc[0])
        raise UserError(f"{at}: time column {col.name!r} repeats {again!r}; a series needs one "
                        f"value per time; drop or merge the repeated rows")
    if numeric_column(col):
        return col
    try:
        with warnings.catch_warnings():  # "could not infer format": the message below says more
            warnings.simplefilter("ignore", UserWarning)
            return pd.to_datetime(col)
    except (ValueError, TypeError) as e:
        raise UserError(f"{at}: could not read time column {col.name!r} as dates ({_why(e)}); "
                        f"use ISO dates like 2020-01-31 or numbers") from None
