"""Forecasting priors: the family (a linear model, a dense or a recurrent net over the window)
is tuned like any other choice, with width, depth and dropout shared by the two nets, plus
training.

    tuner space forecast
"""

from searchspaces import common
from tuner.spaces import Choice, Fixed, IntRange, LogUniform, SearchSpace, When


def space() -> SearchSpace:
    return SearchSpace(
        {
            # the linear autoregressive model, a dense net or a recurrent one over the window
            "family": Choice(["linear", "mlp", "rnn"]),
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
                    "recurrent (GRU/LSTM) net, the family tuned with the rest",
    )
