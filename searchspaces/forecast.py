"""Forecasting priors: the family (a linear model, a dense or a recurrent net over the window,
exponential smoothing or ARIMA) is tuned like any other choice, with width, depth and dropout
shared by the two nets, plus training.

    tuner space forecast
"""

from searchspaces import common
from tuner.spaces import Choice, Fixed, IntRange, LogUniform, SearchSpace, When


def space() -> SearchSpace:
    return SearchSpace(
        {
            # the linear autoregressive model, a dense net or a recurrent one over the window,
            # exponential smoothing or ARIMA (fitted by maximum likelihood, nothing to train)
            "family": Choice(["linear", "mlp", "rnn", "ets", "arima"]),
            # hidden layers of the dense net, stacked layers of the recurrent one (the linear
            # model, solved in closed form, reads none of these nor the training priors)
            "layers": IntRange(1, 3),
            # every hidden layer's width, or the recurrent state's size: a few hundred windows
            # fit nets of tens to hundreds of units
            "units": IntRange(32, 256, step=32),
            "activation": When(common.activation(), "family", "mlp"),
            "cell": When(Choice(["gru", "lstm"]), "family", "rnn"),
            "dropout": common.dropout(0.3),
            # "last" reads the window relative to its last value and forecasts the change (a
            # trend then carries the model past the levels it trained on); "none" reads levels,
            # which suits a series that returns to its mean. tuner sets it from the series'
            # trend (tuner.auto); { choice = ["last", "none"] } tunes it instead
            "anchor": Fixed("none"),
            **common.training(),
            # the loop does not clip gradients, and recurrent nets blow up at larger steps
            "lr": LogUniform(1e-4, 1e-2),
        },
        description="Forecasting windows: a linear (autoregressive), dense (MLP) or "
                    "recurrent (GRU/LSTM) net, exponential smoothing or ARIMA, the family "
                    "tuned with the rest",
    )


# the statistical forecasters filter each window on its own (statsmodels): milliseconds per
# window, measured on windows of 24 values (ETS with a cycle; ARIMA up to AR(12))
SECONDS_PER_WINDOW = {"ets": 0.008, "arima": 0.03}
STATISTICAL_SECONDS = 60.0  # what such a trial may spend reading the training and valid windows


def derive(profile, space, where: str) -> list:
    """(key, value, reason): the statistical forecasters a trial can afford (a trial reads
    every training and validation window once), and none for windows of several channels."""
    if "family" not in space.priors:
        return []
    p = profile
    given = [str(f) for f in space.priors["family"].values()]
    if p.channels > 1:
        keep = [f for f in given if f not in SECONDS_PER_WINDOW]
        why = f"windows of {p.channels} channels: exponential smoothing and ARIMA read one series"
    else:
        keep = [f for f in given
                if SECONDS_PER_WINDOW.get(f, 0) * p.examples <= STATISTICAL_SECONDS]
        why = (f"{p.examples} windows: {', '.join(f for f in given if f not in keep)} would "
               f"take over {STATISTICAL_SECONDS:.0f} s a trial to filter each window")
    if keep == given or not keep:
        return []
    return [("family", {"choice": keep} if len(keep) > 1 else keep[0], why)]
