"""A 2-D partition by a chain of Linear and ReLU layers, in one compiled call.

The commonest network, an MLP, costs the driver more in Python (the evaluator, the
program, the stage plan, the checks between cuts) than in its cuts when it is small.
:func:`chain_2d` runs the whole partition of a polygon or a plane by such a chain in
one kernel (:mod:`regionscope.geometry.kernels.chain`): the cuts the driver makes,
by the same cut kernel and snapping rule, the values carried to new vertices by the
same interpolation.  Only its matrix products add in their own order, so vertices
may differ from the driver's in the last bits: the same regions and patterns (a
property test holds it to that).  The program and the evaluator are made when a
query first asks for them.  Where the driver does more than the kernel (a region to
cut again one unit at a time, a mesh past
:data:`~regionscope.tolerances.CHAIN_2D_MOST_REGIONS` regions after a layer, whose
next products are the driver's (NumPy's matrix products), a limit, a value that is not
finite), the kernel hands over its mesh and its values at the vertices, and the driver
goes on from the next layer.  It does the same after its last ReLU where the network goes
on after the chain (an MLP classifier's argmax).

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU(),
...                     rs.Linear([[1.0, 1.0]], [-0.5]), rs.ReLU())
>>> with rs.backend("numba"):
...     mesh, evaluator, stats = chain_2d(net.layers, rs.Box(1.0))
>>> mesh.num_regions, sorted(evaluator().unit_tol)
(7, [1, 3])
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.backends import chain_kernels
from regionscope.domains import Domain2D, Plane
from regionscope.geometry import Mesh, check_mesh
from regionscope.geometry.arrays import read_only
from regionscope.geometry.mesh import encode_source
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Layer, Sequential
from regionscope.network.program import Program, compile_model
from regionscope.tolerances import (
    CHAIN_2D_MOST_PRODUCTS,
    CHAIN_2D_MOST_REGIONS,
    FACE_TURN_RTOL,
    NEAR_FACTOR,
    get_budget,
)

from .chain import (
    NO_LIMIT,
    chain_evaluator,
    chain_stop,
    describe_chain,
    kernel_tolerance,
    table_limit,
)
from .driver import LONG_RUN, cut_2d, lift_map
from .limits import DEFAULT_MAX_REGIONS

__all__ = ["chain_2d", "CHAIN_2D"]

#: whether :func:`regionscope.partition` cuts a chain of Linear and ReLU layers on a
#: polygon or a plane in one compiled call (tests that compare the driver's own bits,
#: and ``bench/scaling.py``, which reads each layer's time, turn it off)
CHAIN_2D = True


@functools.lru_cache(maxsize=1)
def _kernels() -> Any:
    """The compiled chain kernel (imported, so compiled or loaded, on first use)."""
    from regionscope.geometry.kernels import chain

    return chain


def _evaluator(
    layers: tuple[Layer, ...],
    domain: Domain2D,
    lift_affine: tuple[np.ndarray, np.ndarray],
    res: np.ndarray,
    program: Program | None = None,
    stop: int | None = None,
) -> Evaluator:
    """The evaluator :func:`chain_2d` puts off: the program compiled now (unless given);
    ``stop``: the kernel cut layers ``[0, stop)`` only (:func:`.chain.chain_evaluator`)."""
    if program is None:
        program = compile_model(Sequential(*layers), domain.input_dim)
    return chain_evaluator(program, domain.lift, lift_affine, res, 2, domain.polygon, stop)


def chain_2d(
    layers: tuple[Layer, ...],
    domain: Domain2D,
    *,
    max_regions: int = DEFAULT_MAX_REGIONS,
    progress: bool | None = None,
    program: Program | None = None,
) -> tuple[Mesh, Evaluator | Callable[[], Evaluator], dict[str, Any]] | None:
    """The partition of a polygon or a plane by a chain of Linear and ReLU layers (a
    model's top-level layers, or the layers of a ``program`` whose ops each read the one
    before) in one compiled call: ``(mesh, evaluator, stats)``.  Where the chain is the
    start of ``layers`` and a piecewise layer comes next (:func:`.chain.chain_stop`: a
    classifier's :class:`~regionscope.network.layers.Argmax`), the kernel cuts the chain
    and hands its values at the vertices over to the driver, which cuts the rest.

    The regions are those :func:`regionscope.compute.evaluator` and
    :func:`~regionscope.compute.driver.cut_2d` give; the evaluator comes as a function
    that makes it when first asked, unless the driver finished the cuts.  ``stats``
    holds ``"chain_seconds"``, the kernel's time (it does not time each layer), and
    ``"layer_seconds"`` of the layers the driver cut after a hand-over.  In strict mode
    (:func:`regionscope.tolerances.tolerance`) the kernel's mesh is checked when it
    returns (the driver checks after every layer).

    ``None`` (nothing done) where it does not apply: a first ReLU layer whose lines could
    make :data:`~regionscope.compute.driver.LONG_RUN` regions or more (the driver counts
    them first, to show progress on a long run and to stop one past ``max_regions`` at
    once; with fewer it shows no progress by default either), no compiled kernels
    (:func:`regionscope.backends.chain_kernels`), another domain (a polygon or a plane
    only) or network, a tolerance of one's own, :data:`CHAIN_2D` off,
    weights that are not the kernel's read-only float64, or a kernel that handed over
    before its first cut (the driver then runs from the start, with its estimate).
    """
    if not CHAIN_2D or not isinstance(domain, Domain2D) or not chain_kernels():
        return None
    if not (isinstance(domain, Plane) or type(domain).lift is Domain2D.lift):
        return None  # (a lift whose map is not read exactly from the domain)
    tol = kernel_tolerance()
    if tol is None:
        return None
    stop = chain_stop(layers)  # a chain, or a chain and then the driver's layers
    more = stop < len(layers)
    described = describe_chain(layers[:stop], domain.input_dim)
    if described is None:
        return None
    args, _, _, n_fold, relus = described
    n = n_fold or domain.input_dim  # the first ReLU's units: their lines make at most
    if 1 + n + n * (n - 1) // 2 >= LONG_RUN:  # this many regions; a long run could follow,
        return None  # the driver's estimate decides on progress (as without the kernel)
    lin, off = lift_map(domain, domain.lift)
    lift_affine = (read_only(lin), read_only(off))
    start = Mesh.from_polygon(domain.polygon)
    point_tol = tol.point_rtol * domain.diameter
    budget = get_budget()
    chain = _kernels()
    t0 = time.perf_counter()
    try:
        out = chain.chain_2d(
            *args, read_only(encode_source(np.array(relus), 0)), start.vertices, *lift_affine,
            start.vertices, start.region_vertices, start.region_offsets, start.incidence_source,
            tol.value_rtol, point_tol, NEAR_FACTOR * point_tol, FACE_TURN_RTOL,
            budget.table_values, table_limit(budget),
            min(max_regions, NO_LIMIT), CHAIN_2D_MOST_REGIONS, CHAIN_2D_MOST_PRODUCTS, more,
        )  # fmt: skip
    except TypeError:  # weights not of the kernel's type (assigned since): the driver
        return None
    stats: dict[str, Any] = {"chain_seconds": time.perf_counter() - t0}
    status, done, vertices, rv, offsets, source, res, x, x_relu = out
    if status != chain.OK or done == 0:
        return None
    res.flags.writeable = False  # the evaluator's arrays are views of it
    mesh = Mesh(vertices, rv, offsets, source, start.num_corners)
    if tol.strict:  # the kernel's mesh (it makes no check between its layers)
        check_mesh(mesh, domain.area, f"the compiled chain of {len(layers)} layers")
    if done == chain.FINISHED:
        maker = functools.partial(_evaluator, layers, domain, lift_affine, res, program)
        return mesh, maker, stats
    ev = _evaluator(layers, domain, lift_affine, res, program, stop if more else None)
    relus = [*relus, stop]  # (after the last ReLU: the first layer after the chain)
    given: np.ndarray | None = None  # (x_relu < 0, between two Linear layers: a forward pass)
    if x_relu == done:  # the next ReLU's input
        given = x
    elif x_relu >= 0:  # the previous one's: the layers between them, by NumPy's products
        given = np.maximum(x, 0.0)
        for layer in layers[relus[x_relu] + 1 : relus[done]]:
            given = layer.forward(given)
    mesh, seconds = cut_2d(
        ev, domain, mesh, relus[done], progress=progress, max_regions=max_regions,
        start_input=given,
    )  # fmt: skip
    return mesh, ev, {**stats, "layer_seconds": seconds}
