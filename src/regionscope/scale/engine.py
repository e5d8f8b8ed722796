"""Where tasks run: a Dask cluster, a local pool of processes, or this process.

:class:`Engine` hides the difference.  ``client`` is one of

* ``None``: a :class:`dask.distributed.LocalCluster` of processes over this
  machine's cores (one thread each), started for the call and closed after
  (:func:`local_cluster`: without the ``MALLOC_TRIM_THRESHOLD_`` that Dask sets
  in its workers, which makes NumPy's large arrays slow to allocate);
* a :class:`dask.distributed.Client` of any cluster (``LocalCluster``,
  dask-jobqueue, Kubernetes...), used as it is and left open;
* ``"serial"``: every task in this process, one after the other (no Dask
  needed; for debugging and for small jobs).

Dask is imported only when it is used (the extra ``regionscope[dask]``).
:meth:`Engine.run` submits tasks with a bounded number in flight, hands
each result to a callback as soon as it arrives (so the caller can write it
to disk) and shows progress with tqdm when asked.

Examples
--------
>>> with Engine("serial") as engine:
...     done = {}
...     failed = engine.run([("a", pow, (2, 3)), ("b", pow, (2, 4))], done.__setitem__)
>>> done, failed
({'a': 8, 'b': 16}, {})
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "Engine",
    "import_distributed",
    "local_cluster",
    "worker_environ",
    "snapshot_settings",
    "with_settings",
]

#: environment variables that Dask's nanny sets in worker processes and that we leave unset:
#: ``MALLOC_TRIM_THRESHOLD_`` (any value) turns off glibc's dynamic mmap threshold, so every
#: large NumPy array becomes a fresh ``mmap`` with its page faults (on a CNN tile: 7.2 s of
#: system time against 3.5 s without it, for 10 s of user time)
UNSET_WORKER_ENVIRON = ("MALLOC_TRIM_THRESHOLD_",)
#: thread limits of every worker process (one thread per worker: the workers are the parallelism)
THREAD_ENVIRON = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def import_distributed() -> Any:
    """The ``distributed`` module, or an ImportError naming the extra to install."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - the test extras install it
        raise ImportError(
            "regionscope's tiles and sweeps run on Dask: pip install regionscope[dask] "
            "(dask[distributed] and pandas), or pass client='serial'"
        ) from exc
    return distributed


def worker_environ() -> dict[str, str]:
    """The environment set in a worker process before it starts (Dask's ``pre-spawn-environ``).

    Dask's own, without :data:`UNSET_WORKER_ENVIRON`, with one thread per BLAS
    (:data:`THREAD_ENVIRON`).

    >>> env = worker_environ()
    >>> "MALLOC_TRIM_THRESHOLD_" in env, env["OMP_NUM_THREADS"]
    (False, '1')
    """
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env = {k: str(v) for k, v in env.items() if k not in UNSET_WORKER_ENVIRON}
    env.update(THREAD_ENVIRON)
    return env


@contextlib.contextmanager
def _unset_environ(names: tuple[str, ...]) -> Iterator[None]:
    """``names`` removed from this process's environment (inherited by new processes) for a
    while, then put back as they were."""
    saved = {k: os.environ.pop(k) for k in names if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def local_cluster(workers: int | None = None) -> tuple[Any, Any]:
    """``(cluster, client)``: a :class:`~dask.distributed.LocalCluster` of ``workers``
    single-threaded processes (default: the machine's cores) started with
    :func:`worker_environ`, and a client of it.  Close both (client first) when done.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers (and in
    this process's environment, for the processes it starts); here it is left
    unset, in the workers' environment and in the one they inherit.  A worker
    that Dask starts again later (after one died) inherits this process's
    environment at that time.
    """
    import dask

    dist = import_distributed()
    n = workers or os.cpu_count() or 1
    settings = {"distributed.nanny.pre-spawn-environ": worker_environ()}
    with dask.config.set(settings), _unset_environ(UNSET_WORKER_ENVIRON):
        cluster = dist.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        )
        try:
            client = dist.Client(cluster)
        except BaseException:
            cluster.close()
            raise
    return cluster, client


def snapshot_settings() -> dict[str, dict[str, Any]]:
    """This thread's tolerances, budgets and backend, to apply again in a worker process.

    Context variables do not travel to other processes; every task runs
    under the caller's settings (:func:`with_settings`).

    >>> import regionscope as rs
    >>> with rs.backend("numpy"):
    ...     snapshot_settings()["backend"]
    {'name': 'numpy', 'device': None}
    """
    import dataclasses

    from regionscope.backends import get_backend, get_device
    from regionscope.tolerances import get_budget, get_tolerance

    device = get_device()
    return {
        "tolerance": dataclasses.asdict(get_tolerance()),
        "budget": dataclasses.asdict(get_budget()),
        "backend": {"name": get_backend(), "device": None if device is None else str(device)},
    }


def with_settings(settings: Mapping[str, Mapping[str, Any]], fn: Callable[..., Any], *args: Any):
    """Call ``fn(*args)`` under the settings of :func:`snapshot_settings`.

    A worker that cannot run the caller's backend (numba or torch not
    installed there) runs the NumPy reference, and one without the caller's
    device (no GPU there) runs the torch backend on its own default device:
    every backend gives the same partition.
    """
    from regionscope.backends import available_backends, backend
    from regionscope.tolerances import budget, tolerance

    spec = settings.get("backend", {})
    name, device = spec.get("name", "auto"), spec.get("device")
    if name not in available_backends():
        name, device = "numpy", None
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(backend(name, device=device))
        except ValueError:  # that device is not on this worker
            stack.enter_context(backend(name))
        stack.enter_context(tolerance(**settings["tolerance"]))
        stack.enter_context(budget(**settings["budget"]))
        return fn(*args)


class _Done:
    """A finished task of the serial engine (computed when its result is asked for)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def run(self) -> tuple[bool, Any]:
        try:
            return True, self.fn(*self.args)
        except Exception as exc:  # handed to the caller, as Dask does
            return False, exc


class Engine:
    """Run tasks on Dask or in this process (see the module docstring).

    Parameters
    ----------
    client : None, dask.distributed.Client or "serial"
    workers : int, optional
        Workers of the LocalCluster started when ``client`` is ``None``
        (default: the machine's cores; :func:`local_cluster`).
    progress : bool
        Show a tqdm bar over finished tasks (when tqdm is installed).
    """

    def __init__(self, client: Any = None, workers: int | None = None, progress: bool = False):
        if isinstance(client, str) and client != "serial":
            raise ValueError(f"client must be a dask Client, None or 'serial', got {client!r}")
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if client is not None and client != "serial" and not hasattr(client, "submit"):
            raise TypeError(
                f"client must be a dask.distributed.Client, None or 'serial', "
                f"got {type(client).__name__}"
            )
        self.client = client
        self.workers = workers
        self.progress = bool(progress)
        self._owned: list[Any] = []
        self._shared: dict[str, tuple[Any, Any]] = {}  # future key -> (future, object)

    @property
    def serial(self) -> bool:
        return self.client == "serial"

    def __enter__(self) -> Engine:
        if self.client is None:
            self._owned = list(local_cluster(self.workers))
            self.client = self._owned[1]
        return self

    def __exit__(self, *exc: Any) -> None:
        for thing in reversed(self._owned):
            thing.close()
        if self._owned:
            self.client = None
        self._owned = []

    def share(self, obj: Any) -> Any:
        """``obj`` sent once to every worker (a Dask future), or ``obj`` itself when serial.

        Dask may keep a single copy (its memory manager drops replicas); if the
        worker holding it dies, :meth:`run` sends ``obj`` again before running
        the tasks that needed it once more.
        """
        if self.serial:
            return obj
        fut = self.client.scatter(obj, broadcast=True, hash=False)
        self._shared[fut.key] = (fut, obj)
        return fut

    def _reshared(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """``args`` with every shared object whose data was lost sent again."""
        out = []
        for arg in args:
            key = getattr(arg, "key", None)
            entry = self._shared.get(key) if isinstance(key, str) else None
            if entry is not None:
                fut, obj = entry
                if fut.status != "finished":
                    fut = self.share(obj)
                    self._shared[key] = (fut, obj)  # for later tasks holding the old one
                arg = fut
            elif isinstance(arg, tuple):
                arg = self._reshared(arg)
            out.append(arg)
        return tuple(out)

    def run(
        self,
        tasks: Iterable[tuple[Any, Callable[..., Any], tuple[Any, ...]]],
        on_result: Callable[[Any, Any], None],
        *,
        total: int | None = None,
        max_in_flight: int | None = None,
        description: str = "tasks",
    ) -> dict[Any, BaseException]:
        """Run ``tasks`` (``(key, function, args)``); ``on_result(key, value)`` as each ends.

        ``tasks`` may be a generator: it is read only as tasks are submitted,
        at most ``max_in_flight`` ahead of the finished ones (so the caller
        may load each task's data when it is asked for).  Returns ``{key:
        exception}`` of the tasks that raised; the others all reached
        ``on_result``.  A task whose worker dies is run again by Dask.
        ``KeyboardInterrupt`` cancels what is left and propagates.
        """
        if total is None and hasattr(tasks, "__len__"):
            total = len(tasks)  # type: ignore[arg-type]
        bar = _bar(self.progress, total, description)
        failed: dict[Any, BaseException] = {}
        try:
            for key, ok, value in self._completed(tasks, max_in_flight):
                if ok:
                    on_result(key, value)
                else:
                    failed[key] = value
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return failed

    def _completed(
        self, tasks: Iterable[tuple[Any, Callable[..., Any], tuple[Any, ...]]], limit: int | None
    ) -> Iterator[tuple[Any, bool, Any]]:
        if self.serial:
            for key, fn, args in tasks:
                ok, value = _Done(fn, args).run()
                yield key, ok, value
            return
        dist = import_distributed()
        pending = iter(tasks)
        by_future: dict[Any, Any] = {}
        limit = limit or (1 << 62)

        def submit(key: Any, fn: Callable[..., Any], args: tuple[Any, ...], attempt: int) -> Any:
            fut = self.client.submit(fn, *args, pure=False, retries=0)
            by_future[fut] = (key, fn, args, attempt)
            return fut

        def submit_next() -> Any:
            for key, fn, args in pending:
                return submit(key, fn, args, 0)
            return None

        queue = dist.as_completed()
        try:
            for _ in range(limit):
                fut = submit_next()
                if fut is None:
                    break
                queue.add(fut)
            for fut in queue:
                key, fn, args, attempt = by_future.pop(fut)
                if fut.status == "cancelled" and attempt < CANCELLED_RETRIES:
                    # a worker lost in a way the scheduler reports as a cancellation (not
                    # ours: we cancel only on the way out): run the task again
                    # (its shared input may have been lost with the worker: send it again)
                    fut.release()
                    queue.add(submit(key, fn, self._reshared(args), attempt + 1))
                    continue
                if fut.status == "finished":
                    yield key, True, fut.result()
                else:
                    yield key, False, _exception(fut)
                fut.release()
                nxt = submit_next()
                if nxt is not None:
                    queue.add(nxt)
        finally:
            if by_future:
                self.client.cancel(list(by_future))


#: how often a task that comes back cancelled (its worker lost) is submitted again
CANCELLED_RETRIES = 3


def _exception(fut: Any) -> BaseException:
    """The exception of a failed Dask future (a cancelled one gets a RuntimeError)."""
    if fut.status == "cancelled":
        return RuntimeError("the task was cancelled")
    exc = fut.exception()
    return exc if isinstance(exc, BaseException) else RuntimeError(str(exc))


def _bar(enabled: bool, total: int | None, description: str) -> Any:
    """A tqdm progress bar, or ``None`` when not asked for or tqdm is missing."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with the plot and test extras
        import warnings

        warnings.warn("progress=True needs tqdm (pip install tqdm)", stacklevel=3)
        return None
    return tqdm(total=total, desc=description, unit="task", file=sys.stderr)
