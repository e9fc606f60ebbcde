"""Small building blocks shared by the factories."""

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def per_layer(config: dict, name: str, count: int) -> list:
    """[config['units_1'], ..., config['units_<count>']]."""
    return [config[f"{name}_{i}"] for i in range(1, count + 1)]
