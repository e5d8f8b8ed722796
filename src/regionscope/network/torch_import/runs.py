"""Running the traced graph (shapes and constants) and the model itself (the check).

Both run on the converter's float64 copy, without hooks, leaving torch's
global random state as it was and keeping torch's warnings about the model to
the user's own runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from typing import Any

from .inplace import InplaceGuard
from .support import torch_names

__all__ = ["BATCHES", "Recorded", "record_run", "run_model"]

#: batch sizes of the two runs that find shapes and check the conversion
BATCHES = (5, 6)


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What one traced node produced in a run.

    Attributes
    ----------
    is_tensor : bool
        Whether the value is a tensor.
    shape : tuple of int or None
        The tensor's shape (batch axis included).
    value : object
        A copy of the tensor (only for the nodes asked for), or the value
        itself for anything else (sizes, ``x.shape[0]``).
    """

    is_tensor: bool
    shape: tuple[int, ...] | None
    value: Any


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    torch = torch_names().torch
    with torch.no_grad(), torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _failed(what: str, x: Any, context: str, exc: Exception) -> ValueError:
    return ValueError(
        f"running {what} on an input of shape {tuple(x.shape)} ({context}) failed: "
        f"{type(exc).__name__}: {exc}"
    )


def record_run(
    gm: Any, x: Any, keep: set[Any], guard: InplaceGuard, what: str, context: str
) -> dict[Any, Recorded]:
    """Run a traced graph on ``x`` and record every node's result.

    Parameters
    ----------
    gm : torch.fx.GraphModule
        The graph to run (modules run without their hooks).
    x : torch.Tensor
        The input (not changed: the graph runs on a copy).
    keep : set of torch.fx.Node
        Nodes whose tensor values are kept (copied when they are computed).
    guard : InplaceGuard
        Checks each in-place node before it runs.
    what, context : str
        The model's name, and a note on the input's shape, for errors.

    Returns
    -------
    dict of torch.fx.Node to Recorded

    Raises
    ------
    TypeError
        An in-place change that the conversion cannot follow (from ``guard``).
    ValueError
        The graph fails on ``x``.
    """
    import torch.fx as fx

    torch = torch_names().torch
    record: dict[Any, Recorded] = {}
    refused: list[Exception] = []

    class Recorder(fx.Interpreter):
        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            return self.fetch_attr(target).forward(*args, **kwargs)  # no hooks

        def run_node(self, n: Any) -> Any:
            try:
                guard.before(n, self.env)
            except TypeError as exc:
                refused.append(TypeError(*exc.args))  # fx adds notes to the one raised
                raise
            out = super().run_node(n)
            if isinstance(out, torch.Tensor):
                value = out.detach().clone() if n in keep else None
                record[n] = Recorded(True, tuple(out.shape), value)
            else:
                record[n] = Recorded(False, None, out)
            return out

    try:
        with _quietly():
            Recorder(gm).run(x.clone())
    except Exception as exc:  # noqa: BLE001 - report any failure with the shape
        if refused:
            raise refused[0] from None
        raise _failed(what, x, context, exc) from exc
    return record


class _Stop(Exception):  # noqa: N818 - not an error: stops the forward at ``until``
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def run_model(model: Any, x: Any, until: str | None, context: str) -> Any:
    """The model's own output on ``x`` (or its submodule ``until``'s output).

    Parameters
    ----------
    model : torch.nn.Module
        The converter's copy of the model (without hooks).
    x : torch.Tensor
        The input (not changed: the model runs on a copy).
    until : str or None
        Stop the forward when this submodule returns, and return its output.
    context : str
        A note on the input's shape, for errors.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        The model fails on ``x``, or ``until`` never returns a tensor.
    """
    torch = torch_names().torch
    what = type(model).__name__
    handle = None
    if until is not None:

        def stop(module: Any, args: Any, out: Any) -> None:
            raise _Stop(out)

        handle = model.get_submodule(until).register_forward_hook(stop)
    try:
        with _quietly():
            out = model(x.clone())
    except _Stop as s:
        out = s.value
    except Exception as exc:  # noqa: BLE001 - report any failure with the shape
        raise _failed(what, x, context, exc) from exc
    else:
        if until is not None:
            raise ValueError(f"until={until!r}: that module did not run when {what} ran")
    finally:
        if handle is not None:
            handle.remove()
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{what} returned {type(out).__name__}, not a tensor")
    return out.detach()
