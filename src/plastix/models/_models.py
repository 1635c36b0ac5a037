"""Ready networks (as edge lists) and the model registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import nn
from .._errors import ConfigError
from ..graph import Edge, edge

ACTIVATIONS: dict[str, Callable[[], nn.Layer]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky-relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "hard-tanh": nn.HardTanh,
    "hard-sigmoid": nn.HardSigmoid,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def activation(name: str | nn.Layer) -> nn.Layer:
    """An activation layer from its name (``tanh``, ``relu``, ``leaky-relu``, ``gelu``, ``elu``,
    ``hard-tanh``, ``hard-sigmoid``, ``sigmoid``, ``identity``) or a layer passed through."""
    if isinstance(name, nn.Layer):
        return name
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}."
        ) from None


def mlp(
    num_classes: int = 10,
    hidden: Sequence[int] = (128, 128, 128),
    activation: str | nn.Layer = "gelu",
) -> list[Edge]:
    r"""Multi-layer perceptron as a chain of nodes ``0 -> 1 -> ... -> L``:
    node :math:`i` predicts :math:`\sigma(W_i z_{i-1} + b_i)`, the output node
    :math:`W_L z_{L-1} + b_L`. The input is flattened by the first edge.

    >>> import plastix as px
    >>> [repr(e) for e in px.models.mlp(10, hidden=(32,))]
    ['Sequential 0 -> 1', 'Linear 1 -> 2']
    """
    act = globals()["activation"](activation)
    hidden = tuple(int(h) for h in hidden)
    edges = []
    for i, h in enumerate(hidden):
        layers = [nn.Linear(h), act] if i else [nn.Flatten(), nn.Linear(h), act]
        edges.append(edge(nn.Sequential(layers), [i, i + 1]))
    last = nn.Linear(num_classes)
    if not hidden:
        edges.append(edge(nn.Sequential([nn.Flatten(), last]), [0, 1]))
    else:
        edges.append(edge(last, [len(hidden), len(hidden) + 1]))
    return edges


def skip_mlp(num_classes: int = 10, activation: str | nn.Layer = "tanh") -> list[Edge]:
    """The seed's skip-connection MLP (``CorMLP``): 256 -> 128 -> 128 -> classes, where node 1's
    edge feeds nodes 2 and 3 (``adj_mat=[[1, 2], [1, 3]]``), so node 3 sums two edges."""
    act = globals()["activation"](activation)
    return [
        edge(nn.Sequential([nn.Flatten(), nn.Linear(256), act]), [0, 1]),
        edge(nn.Sequential([nn.Linear(128), act]), [[1, 2], [1, 3]]),
        edge(nn.Sequential([nn.Linear(128), act]), [2, 3]),
        edge(nn.Linear(num_classes), [3, 4]),
    ]


def conv_demo(num_classes: int = 10) -> list[Edge]:
    """The seed's CIFAR ``ConvDemo``: conv(10, 3x3) tanh maxpool(2, stride 1) -> conv(5, 3x3)
    tanh flatten -> 50 tanh -> 30 tanh -> classes; five edges, nodes 0..5."""
    return [
        edge(nn.Sequential([nn.Conv2d(10, 3), nn.Tanh(), nn.MaxPool(2, stride=1)]), [0, 1]),
        edge(nn.Sequential([nn.Conv2d(5, 3), nn.Tanh(), nn.Flatten()]), [1, 2]),
        edge(nn.Sequential([nn.Linear(50), nn.Tanh()]), [2, 3]),
        edge(nn.Sequential([nn.Linear(30), nn.Tanh()]), [3, 4]),
        edge(nn.Linear(num_classes), [4, 5]),
    ]


def conv_pool(
    num_classes: int = 10,
    channels: Sequence[int] = (128, 256, 512, 512),
    activation: str | nn.Layer = "identity",
) -> list[Edge]:
    """A chain of ``conv 3x3 (padding 1) -> [activation] -> max-pool 2x2`` edges, then a linear
    layer: with the default channels and no activation in the edges, the 4-conv-layer
    network of Laborieux et al. (2021) for equilibrium propagation on CIFAR-10 (EP applies its
    own activation to the states)."""
    act = globals()["activation"](activation)
    edges = []
    for i, c in enumerate(channels):
        layers = [nn.Conv2d(int(c), 3, padding=1), nn.MaxPool(2)]
        if not isinstance(act, nn.Identity):
            layers.insert(1, act)
        edges.append(edge(nn.Sequential(layers), [i, i + 1]))
    n = len(channels)
    edges.append(edge(nn.Sequential([nn.Flatten(), nn.Linear(num_classes)]), [n, n + 1]))
    return edges


def softhebb_conv(
    num_classes: int = 10,
    channels: Sequence[int] = (96, 384, 1536),
    kernels: Sequence[int] = (5, 3, 3),
    powers: Sequence[float] = (0.7, 1.4, 1.0),
    pools: Sequence[str] = ("max", "max", "avg"),
) -> list[Edge]:
    """The SoftHebb network of Journé et al. (2022): Hebbian conv blocks (batch norm without
    affine, conv with reflect padding ``k // 2``, triangle to the power ``p``, pooling: ``max``
    = 4x4 stride 2 padding 1, ``avg`` = 2x2 stride 2), then ``Flatten -> Linear`` read-out.
    The defaults are their CIFAR-10 network (96-384-1536 channels)."""
    from ..hebbian import HebbConv2d

    n = len(channels)
    if not (len(kernels) == len(powers) == len(pools) == n) or n == 0:
        raise ConfigError(
            f"softhebb-conv: channels, kernels, powers and pools need one entry per block; got "
            f"{len(channels)}, {len(kernels)}, {len(powers)}, {len(pools)}."
        )
    pool_layers = {"max": nn.MaxPool(4, stride=2, padding=1), "avg": nn.AvgPool(2, stride=2)}
    edges = []
    for i, (c, k, pw, pl) in enumerate(zip(channels, kernels, powers, pools)):
        if pl not in pool_layers:
            raise ConfigError(f"softhebb-conv: unknown pool {pl!r}; choose 'max' or 'avg'.")
        block = HebbConv2d(
            out_channels=int(c),
            kernel_size=int(k),
            padding=int(k) // 2,
            power=float(pw),
            pool=pool_layers[pl],
        )
        edges.append(edge(block, [i, i + 1]))
    edges.append(edge(nn.Sequential([nn.Flatten(), nn.Linear(num_classes)]), [n, n + 1]))
    return edges


def softhebb_mlp(
    num_classes: int = 10, hidden: Sequence[int] = (2000,), power: float = 1.0
) -> list[Edge]:
    """Dense SoftHebb blocks (batch norm without affine, no bias, triangle activation), then
    a linear read-out."""
    from ..hebbian import HebbDense

    edges = [
        edge(HebbDense(units=int(h), power=float(power)), [i, i + 1]) for i, h in enumerate(hidden)
    ]
    n = len(hidden)
    edges.append(edge(nn.Linear(num_classes), [n, n + 1]))
    return edges


MODELS: dict[str, Callable[..., list[Edge]]] = {
    "softhebb-conv": softhebb_conv,
    "softhebb-mlp": softhebb_mlp,
    "mlp": mlp,
    "skip-mlp": skip_mlp,
    "conv-demo": conv_demo,
    "conv-pool": conv_pool,
}

MODEL_OPTIONS: dict[str, dict[str, Any]] = {
    "softhebb-conv": {
        "channels": [96, 384, 1536],
        "kernels": [5, 3, 3],
        "powers": [0.7, 1.4, 1.0],
        "pools": ["max", "max", "avg"],
    },
    "softhebb-mlp": {"hidden": [2000], "power": 1.0},
    "mlp": {"hidden": [128, 128, 128], "activation": "gelu"},
    "skip-mlp": {"activation": "tanh"},
    "conv-demo": {},
    "conv-pool": {"channels": [128, 256, 512, 512], "activation": "identity"},
}


def make_model(name: str, num_classes: int, **options: Any) -> list[Edge]:
    """The edges of model ``name`` (see :data:`MODELS`) with its options."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}.")
    unknown = set(options) - set(MODEL_OPTIONS[name])
    if unknown:
        raise ConfigError(
            f"unknown option(s) {sorted(unknown)} for model {name!r}; valid: "
            f"{sorted(MODEL_OPTIONS[name]) or 'none'}."
        )
    return MODELS[name](num_classes, **options)
