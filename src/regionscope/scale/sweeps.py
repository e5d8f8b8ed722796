"""Sweeps: partition many (model, domain) pairs on Dask, one tidy table out.

:func:`sweep` runs one task per pair (:mod:`.specs` says what models,
domains and statistics may be), on any Dask cluster or a local pool of
processes (:mod:`.engine`).  Each finished task is written at once to the
results directory as a small JSON file named by the task's key; a sweep
started again with the same directory reads those and computes only what
is missing.  A task whose worker dies is run again by Dask; a task that
raises is named (model and domain) and the others still finish.

Examples
--------
>>> import tempfile
>>> import regionscope as rs
>>> nets = {"a": rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()),
...         "b": rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU())}
>>> folder = tempfile.mkdtemp()
>>> domains = {"box": rs.Box(1.0), "diagonal": rs.Segment([-1.0, -1.0], [1.0, 1.0])}
>>> table = sweep(nets, domains, stats=["num_regions", "num_vertices"], client="serial",
...               results=folder, progress=False)
>>> table
  model    domain  num_regions  num_vertices
0     a       box            2             6
1     a  diagonal            2             3
2     b       box            4             9
3     b  diagonal            2             3
>>> again = sweep(nets, domains, stats=["num_regions", "num_vertices"], client="serial",
...               results=folder, progress=False)
>>> again.attrs["computed"], again.attrs["resumed"]
(0, 4)
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Engine, snapshot_settings, with_settings
from .specs import (
    DomainSpec,
    ModelSpec,
    domain_specs,
    load_model,
    model_specs,
    stat_functions,
    stats_key,
    task_key,
)

__all__ = ["sweep", "SweepError", "run_task", "read_results"]

#: the format written in every result file
RESULT_FORMAT = "regionscope-sweep-1"


class SweepError(RuntimeError):
    """Some tasks of a sweep failed; the others finished.

    Attributes
    ----------
    failures : dict
        ``{(model label, domain label): exception}``.
    frame : pandas.DataFrame
        The finished rows (also in the results directory, if there is one).
    """

    def __init__(self, message: str, failures: dict[tuple[str, str], BaseException], frame: Any):
        super().__init__(message)
        self.failures = failures
        self.frame = frame


def run_task(
    model: ModelSpec,
    domain: DomainSpec,
    stats: list[tuple[str, Callable[[Any], Any] | str]],
    max_regions: int,
) -> dict[str, Any]:
    """Partition one (model, domain) pair and compute its statistics (runs on a worker)."""
    from regionscope.partitions import partition

    from .grid import peak_rss_mb, reset_peak_rss

    net = load_model(model, domain.domain.input_shape)
    reset_peak_rss()
    t0 = time.perf_counter()
    part = partition(net, domain.domain, max_regions=max_regions)
    seconds = time.perf_counter() - t0
    row: dict[str, Any] = {}
    for name, fn in stats:
        if isinstance(fn, str):  # measured here: "time" or "peak_rss_mb"
            value: Any = seconds if fn == "time" else peak_rss_mb()
        else:
            value = fn(part)
        row[name] = _scalar(value, name)
    return row


def _scalar(value: Any, name: str) -> Any:
    """A statistic as a JSON scalar (numbers, booleans, strings, None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"statistic {name!r} returned {type(value).__name__}; a statistic must be a number, "
        "a boolean or a string"
    )


def _write(directory: str, key: str, record: dict[str, Any]) -> None:
    """Write one result file atomically (a reader never sees half of it)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh)
        os.replace(tmp, os.path.join(directory, f"{key}.json"))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_results(directory: Any) -> dict[str, dict[str, Any]]:
    """The finished tasks in a results directory: ``{task key: record}``.

    Files that are not results of a sweep (or are damaged) are skipped.
    """
    out: dict[str, dict[str, Any]] = {}
    folder = os.fspath(directory)
    if not os.path.isdir(folder):
        return out
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json") or name.startswith("."):
            continue
        try:
            with open(os.path.join(folder, name)) as fh:
                record = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("format") == RESULT_FORMAT:
            out[name[: -len(".json")]] = record
    return out


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    import pandas as pd

    rows = sorted(rows, key=lambda r: (r["model_index"], r["domain_index"]))
    data = [
        {c: r["row"].get(c) for c in columns} | {"model": r["model"], "domain": r["domain"]}
        for r in rows
    ]
    return pd.DataFrame(data, columns=["model", "domain", *columns])


def sweep(
    models: Any,
    domains: Any,
    stats: Any = None,
    *,
    template: Any = None,
    client: Any = None,
    workers: int | None = None,
    results: Any = None,
    progress: bool = True,
    errors: str = "raise",
    max_regions: int | None = None,
) -> Any:
    """Partition every (model, domain) pair; one row per pair, one column per statistic.

    Parameters
    ----------
    models : list or dict
        Regionscope networks, torch modules, state dicts (with ``template``)
        or checkpoint paths (``.npz`` regionscope networks, or torch files
        of a state dict loaded into ``template``), loaded on the worker.  A
        dict gives the labels; otherwise a checkpoint is labelled by its file
        name and any other model ``model<i>``.
    domains : list or dict
        Boxes, polygons, planes, intervals, segments (a number ``h`` is
        ``Box(h)``); labelled by their repr unless given as a dict.
    stats : list or dict, optional
        Names (``num_regions``, ``num_vertices``, ``num_edges``, ``time``,
        ``peak_rss_mb``, ``mean_size``, ``min_size``, ``max_size``,
        ``decision_edges``) or functions ``f(partition) -> number``;
        default ``num_regions, num_vertices, num_edges, time``.
    template : torch.nn.Module, optional
        The module that state dicts and torch checkpoints are loaded into.
    client : None, dask.distributed.Client or "serial"
        A local cluster of processes over this machine's cores by default,
        any Dask cluster, or this process (:class:`~.engine.Engine`).
    workers : int, optional
        Workers of the local cluster started when ``client`` is None.
    results : str or Path, optional
        Directory where each finished task is written as it completes; run
        the same sweep again with it to compute only the missing tasks.
    progress : bool
        Show a progress bar over the tasks (tqdm).
    errors : {"raise", "skip"}
        When tasks fail: raise :class:`SweepError` once the others have
        finished (naming each failed (model, domain); the finished rows are
        kept), or leave their rows out (``frame.attrs["failures"]``).
    max_regions : int, optional
        Per task, as for :func:`regionscope.partition`.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``domain`` and one per statistic, rows in the
        order of ``models`` then ``domains``.  ``attrs["computed"]`` and
        ``attrs["resumed"]`` count the tasks run now and read from
        ``results``.
    """
    from regionscope import compute

    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
    limit = compute.DEFAULT_MAX_REGIONS if max_regions is None else max_regions
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"max_regions must be a positive integer, got {max_regions!r}")
    mspecs = model_specs(models, template)
    dspecs = domain_specs(domains)
    stat_list = stat_functions(stats)
    skey = stats_key(stat_list)
    columns = [name for name, _ in stat_list]
    folder = None if results is None else os.fspath(results)
    if folder is not None:
        os.makedirs(folder, exist_ok=True)
    done = read_results(folder) if folder is not None else {}
    tasks, rows, resumed = {}, [], 0
    for mi, m in enumerate(mspecs):
        for di, d in enumerate(dspecs):
            key = task_key(m, d, skey)
            meta = {
                "format": RESULT_FORMAT,
                "task": key,
                "model": m.label,
                "domain": d.label,
                "model_index": mi,
                "domain_index": di,
            }
            if key in done and all(c in done[key].get("row", {}) for c in columns):
                rows.append({**meta, "row": done[key]["row"]})
                resumed += 1
            else:
                tasks[key] = (meta, m, d)
    failures = _run(tasks, stat_list, int(limit), folder, rows, client, workers, progress)
    frame = _frame(rows, columns)
    frame.attrs.update(computed=len(rows) - resumed, resumed=resumed)
    if failures:
        named = {(tasks[k][0]["model"], tasks[k][0]["domain"]): exc for k, exc in failures.items()}
        if errors == "raise":
            (model, domain), exc = next(iter(named.items()))
            where = f" (and in {folder})" if folder is not None else ""
            raise SweepError(
                f"{len(named)} of {len(rows) + len(named)} tasks failed; first: model={model!r}, "
                f"domain={domain!r}: {type(exc).__name__}: {exc}. The {len(rows)} finished rows "
                f"are in this error's .frame{where}",
                named,
                frame,
            ) from exc
        frame.attrs["failures"] = {
            f"{m} | {d}": f"{type(e).__name__}: {e}" for (m, d), e in named.items()
        }
    return frame


def _run(
    tasks: dict[str, tuple[dict[str, Any], ModelSpec, DomainSpec]],
    stat_list: list[tuple[str, Callable[[Any], Any] | str]],
    limit: int,
    folder: str | None,
    rows: list[dict[str, Any]],
    client: Any,
    workers: int | None,
    progress: bool,
) -> dict[str, BaseException]:
    """Run the missing tasks, writing each row as it arrives; the failures by task key."""
    if not tasks:
        return {}

    def arrived(key: str, row: dict[str, Any]) -> None:
        record = {**tasks[key][0], "row": row}
        if folder is not None:
            _write(folder, key, record)
        rows.append(record)

    settings = snapshot_settings()
    with Engine(client, workers, progress) as engine:
        shared = {}
        jobs = []
        for key, (_, m, d) in tasks.items():
            if m.key not in shared:
                shared[m.key] = engine.share(m)
            jobs.append(
                (key, with_settings, (settings, run_task, shared[m.key], d, stat_list, limit))
            )
        return engine.run(jobs, arrived, description="sweep")
