"""Where batch jobs run: local worker processes, or Ray tasks on one machine or a cluster.

An engine is a function `run(jobs, settings, fn, on_done, workers=, address=)` that calls
`fn(job, settings)` for every job somewhere and hands each Record to `on_done` in the calling
process. Engines own no output logic, so every engine writes the same files.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from formcheck.apps.batch.inputs import Job
from formcheck.apps.batch.records import OnResult, Record, Settings, crash_record
from formcheck.errors import ExitCode, FormcheckError

JobFn = Callable[[Job, Settings], Record]
CRASHED = "the worker process died while scoring this file (a crash in a native library, or out of memory)"


class Engine(Protocol):
    def __call__(self, jobs: Sequence[Job], s: Settings, fn: JobFn, on_done: OnResult, *,
                 workers: int, address: str | None) -> None: ...


# ---- local: a process pool -------------------------------------------------------------------


def run_local(jobs: Sequence[Job], s: Settings, fn: JobFn, on_done: OnResult, *,
              workers: int, address: str | None = None) -> None:
    """Spawned worker processes (MediaPipe is not fork-safe), at most `workers` jobs in flight.

    If a worker dies, the pool breaks and every job in flight fails with it; those are rerun one
    at a time, so only the file that really kills its worker is recorded as failed.
    """
    if address is not None:
        raise FormcheckError("--ray-address needs --engine ray", ExitCode.USAGE)
    todo = deque(jobs)
    suspects: deque[Job] = deque()
    while todo or suspects:
        solo = bool(suspects)
        queue = deque([suspects.popleft()]) if solo else todo
        for job in _pool_pass(queue, s, fn, on_done, 1 if solo else workers):
            if solo:
                on_done(crash_record(job, s, CRASHED))
            else:
                suspects.append(job)


def _pool_pass(queue: deque[Job], s: Settings, fn: JobFn, on_done: OnResult, workers: int) -> list[Job]:
    """Run jobs from `queue` until it is empty (returns []) or a worker dies (returns jobs in flight)."""
    ctx = multiprocessing.get_context("spawn")
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(min(workers, len(queue)), mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(),))
    running: dict[Future[Record], Job] = {}
    stopping = False
    try:
        while queue or running:
            while queue and len(running) < workers:
                job = queue.popleft()
                running[pool.submit(_call, fn, job, s)] = job
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            lost = []
            for f in finished:
                job = running.pop(f)
                try:
                    on_done(f.result())
                except BrokenProcessPool:
                    lost.append(job)
            if lost:
                return [*lost, *running.values()]
        return []
    except BaseException:  # Ctrl-C: stop the workers now; they delete their temp files on the way out
        stopping = True
        for p in set(multiprocessing.active_children()) - before:
            p.terminate()
        for p in set(multiprocessing.active_children()) - before:
            p.join(5)
            if p.is_alive():
                p.kill()
        raise
    finally:
        pool.shutdown(wait=not stopping, cancel_futures=True)


def _worker_init(parent: int) -> None:
    """Workers leave stopping to the batch (SIGINT ignored) and exit cleanly on SIGTERM or orphaning.

    `parent` comes from the batch: a worker still starting when the batch is killed is already an
    orphan here, so its own getppid() would name the wrong parent.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _exit_on_term(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through atomic_path, which removes its temp file


def _watch_parent(parent: int) -> None:
    """A batch killed with -9 cannot stop its workers; they notice and leave on their own."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)  # clean exit if the main thread is in Python code
    time.sleep(3)
    os._exit(1)  # it was blocked in native code: any temp file left is removed on resume


def _call(fn: JobFn, job: Job, s: Settings) -> Record:
    try:
        return fn(job, s)
    except SystemExit as exc:  # temp files are already gone; don't wait for another job
        os._exit(exc.code if isinstance(exc.code, int) else 1)


# ---- Ray -------------------------------------------------------------------------------------


def run_ray(jobs: Sequence[Job], s: Settings, fn: JobFn, on_done: OnResult, *,
            workers: int, address: str | None = None) -> None:
    """The same jobs as Ray tasks; on a cluster, inputs and --out must be on a shared filesystem."""
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        opts = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False}
        if address:
            _check_reachable(address)
        try:
            ray.init(address=address, **opts) if address else ray.init("local", num_cpus=workers, **opts)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            hint = ""
            if "Unauthenticated" in str(exc.__cause__) or "AuthToken" in str(exc.__cause__):
                hint = " (the cluster wants an auth token: set RAY_AUTH_MODE=token, and the token, as Ray's docs say)"
            raise FormcheckError(f"cannot start or reach {where}: {exc}{hint}", ExitCode.USAGE) from exc
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(fn)
        s_ref = ray.put(s)
        pending = {task.remote(job, s_ref): job for job in jobs}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        rec = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        rec = crash_record(job, s, f"{CRASHED} [{type(exc).__name__}]")
                    if address and rec.code == ExitCode.NOT_FOUND:
                        rec = _hint_shared_fs(rec)
                    on_done(rec)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds on a wrong host:port (Ray itself retries for minutes before giving up)."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return  # "auto" or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise FormcheckError(f"cannot reach the Ray cluster at {address}: {why}", ExitCode.USAGE) from exc


def _hint_shared_fs(rec: Record) -> Record:
    from dataclasses import replace

    return replace(rec, message=f"{rec.message} (on a Ray cluster, inputs and --out must be on a filesystem "
                                "every node sees at the same path)")


def _import_ray() -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage-stats banner for formcheck users
    try:
        import ray
    except ImportError as exc:
        raise FormcheckError("--engine ray needs Ray: pip install 'formcheck[ray]'", ExitCode.USAGE) from exc
    return ray


# ---- registry --------------------------------------------------------------------------------

ENGINES: dict[str, Engine] = {"local": run_local, "ray": run_ray}


def get_engine(name: str) -> Engine:
    """The engine called `name`, with its dependency checked now rather than mid-batch."""
    if name not in ENGINES:
        raise FormcheckError(f"unknown engine {name!r}; valid: {', '.join(ENGINES)}", ExitCode.USAGE)
    if name == "ray":
        _import_ray()
    return ENGINES[name]
