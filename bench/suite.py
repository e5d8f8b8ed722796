"""The benchmark suite: fixed-seed ReLU networks on the square [-1, 1]^2.

Every network is drawn once, in float64, with ``numpy.random.default_rng(seed)``
(PyTorch's default ``nn.Linear`` initialisation: weight and bias uniform in
``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``), and the same arrays are handed to every
tool: regionscope as ``Linear(weight (out, in), bias)``, regioncam as
``linear(weight.T (in, out), bias)`` in float32 (the only dtype it accepts).

A ReLU follows every hidden linear layer.  Pure ReLU networks have no output
layer (the last hidden ReLU is the last op); a network with ``classes`` set ends
with a linear layer to that many outputs and an argmax.  A maxout network
(``maxout = k``) has one hidden layer of ``widths[1]`` groups of ``k`` linear
units, each group followed by its maximum; regioncam, which has no grouped
maximum, gets one ``linear`` of the input and one ``max_pool`` per group (the
same regions: every group's maximum cuts the plane).

This module imports NumPy only, so the benchmark workers load nothing else than
the tool they measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Half-width of the square input domain [-HALF_WIDTH, HALF_WIDTH]^2.
HALF_WIDTH = 1.0


@dataclass(frozen=True)
class Net:
    """One benchmark network.

    Attributes
    ----------
    name : str
        Short name used on the command line and in tables.
    widths : tuple of int
        Input width (2) followed by the hidden widths, each followed by a ReLU.
    classes : int or None
        If set, a final linear layer to ``classes`` outputs and an argmax.
    maxout : int or None
        If set, one hidden layer of ``widths[1]`` maxout units of ``maxout``
        linear pieces each (instead of ReLUs).
    """

    name: str
    widths: tuple[int, ...]
    classes: int | None = None
    maxout: int | None = None

    def __post_init__(self) -> None:
        if self.maxout is not None and (len(self.widths) != 2 or self.classes is not None):
            raise ValueError("a maxout network of the suite has one hidden layer and no classes")

    @property
    def num_neurons(self) -> int:
        """Number of hidden neurons: ReLUs, or the linear units of maxout groups."""
        return int(sum(self.widths[1:])) * (self.maxout or 1)

    @property
    def description(self) -> str:
        """Human-readable architecture, e.g. ``[2,64,64,64]``."""
        if self.maxout is not None:
            return f"[2,{self.widths[1]} maxout of {self.maxout}]"
        text = "[" + ",".join(str(w) for w in self.widths) + "]"
        if self.classes is not None:
            text += f" -> {self.classes} -> argmax"
        return text


SUITE: tuple[Net, ...] = (
    Net("2-300", (2, 300)),
    Net("2-1000", (2, 1000)),
    Net("2-32x2", (2, 32, 32)),
    Net("2-32x3", (2, 32, 32, 32)),
    Net("2-64x3", (2, 64, 64, 64)),
    Net("2-100x3", (2, 100, 100, 100)),
    Net("2-256x3", (2, 256, 256, 256)),
    Net("2-32x9", (2,) + (32,) * 9),
    Net("2-500x2", (2, 500, 500)),
    Net("2-64x2-argmax10", (2, 64, 64), classes=10),
    Net("2-128x4-argmax10", (2, 128, 128, 128, 128), classes=10),
    Net("2-maxout64x4", (2, 64), maxout=4),
)

SUITE_BY_NAME: dict[str, Net] = {net.name: net for net in SUITE}


def draw_weights(net: Net, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw the weights of ``net`` with PyTorch's default ``nn.Linear`` init.

    Parameters
    ----------
    net : Net
        The architecture.
    seed : int
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    list of (weight (out, in) float64, bias (out,) float64)
        One pair per linear layer, hidden layers first, then the output layer
        if ``net.classes`` is set.  For each layer the weight is drawn before
        the bias, both uniform in ``[-1/sqrt(in), 1/sqrt(in)]``.
    """
    rng = np.random.default_rng(seed)
    widths = list(net.widths)
    if net.maxout is not None:
        widths[1] *= net.maxout  # the linear units of all groups, group by group
    if net.classes is not None:
        widths.append(net.classes)
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=False):
        bound = 1.0 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, size=(fan_out, fan_in))
        bias = rng.uniform(-bound, bound, size=fan_out)
        layers.append((weight, bias))
    return layers


def regionscope_model(net: Net, weights: list[tuple[np.ndarray, np.ndarray]]):
    """Build the regionscope ``Sequential`` for ``net`` from drawn weights."""
    import regionscope as rs

    if net.maxout is not None:
        ((weight, bias),) = weights
        groups = np.arange(len(bias)).reshape(net.widths[1], net.maxout)
        return rs.Sequential(rs.Linear(weight, bias), rs.MaxPool(groups))
    ops: list = []
    num_hidden = len(net.widths) - 1
    for k, (weight, bias) in enumerate(weights):
        ops.append(rs.Linear(weight, bias))
        if k < num_hidden:
            ops.append(rs.ReLU())
    if net.classes is not None:
        ops.append(rs.Argmax())
    return rs.Sequential(*ops)


def regioncam_layers(
    weights: list[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Convert drawn weights to regioncam's convention: ``(W.T (in, out), b)`` float32."""
    return [
        (np.ascontiguousarray(weight.T, dtype=np.float32), np.asarray(bias, dtype=np.float32))
        for weight, bias in weights
    ]


def run_regioncam(net: Net, rc_layers: list[tuple[np.ndarray, np.ndarray]]) -> int:
    """Partition with regioncam and return its number of faces.

    Everything regioncam does to build the partition happens in here (it
    partitions layer by layer as the layers are added).
    """
    import regioncam

    cam = regioncam.Regioncam(HALF_WIDTH)
    if net.maxout is not None:
        ((weight, bias),) = rc_layers  # weight (2, groups * k)
        k = net.maxout
        for g in range(net.widths[1]):  # each group: its linear units of the input, max
            cols = slice(g * k, (g + 1) * k)
            cam.linear(np.ascontiguousarray(weight[:, cols]), bias[cols], input_layer=0)
            cam.max_pool()
        return int(cam.num_faces)
    num_hidden = len(net.widths) - 1
    for k, (weight, bias) in enumerate(rc_layers):
        cam.linear(weight, bias)
        if k < num_hidden:
            cam.relu()
    if net.classes is not None:
        cam.argmax_pool()
    return int(cam.num_faces)


def run_regionscope(model) -> int:
    """Partition with regionscope on the square and return its number of regions."""
    import regionscope as rs

    part = rs.partition(model, rs.Box(HALF_WIDTH))
    return int(part.num_regions)


def arrangement_count(weight: np.ndarray, bias: np.ndarray, half_width: float = HALF_WIDTH) -> int:
    """Regions of the square cut by the lines ``weight @ x + bias = 0`` (one ReLU layer).

    An independent count for one-hidden-layer networks: for lines in general
    position (no three through one point, none parallel), Euler's formula
    gives ``1 + L + P`` regions inside a convex domain, where ``L`` is the number
    of lines that meet the open square and ``P`` the number of pairwise
    crossings strictly inside it.

    Parameters
    ----------
    weight : (n, 2) float64
    bias : (n,) float64
    half_width : float
        The square is ``[-half_width, half_width]^2``.

    Returns
    -------
    int
    """
    weight = np.asarray(weight, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    # max of w . x over the square is half_width * |w|_1
    lines = int(np.sum(np.abs(bias) < half_width * np.abs(weight).sum(axis=1)))
    i, j = np.triu_indices(len(bias), 1)
    det = weight[i, 0] * weight[j, 1] - weight[i, 1] * weight[j, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (bias[j] * weight[i, 1] - bias[i] * weight[j, 1]) / det
        y = (bias[i] * weight[j, 0] - bias[j] * weight[i, 0]) / det
    inside = (np.abs(x) < half_width) & (np.abs(y) < half_width)
    return 1 + lines + int(np.count_nonzero(inside))
