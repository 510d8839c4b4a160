"""Proxy scoring on a Ray cluster: ``hwnas pareto --ray ADDRESS`` / ``--ray local``.

`RayBackend.run(jobs)` runs the same `hwnas.search.scoring._score_one` jobs as the serial and
process-pool paths, each as one Ray task (``num_cpus=1``, torch at one thread), and yields the
results as they complete (``ray.wait``). A job's scores depend only on the job (architecture,
proxies, dataset, per-architecture seed, batch size), never on where it ran, so they are the
same as with ``--workers 1`` / ``--workers 2``.

At most as many tasks as the cluster has CPUs are in flight, so a task's clock (``timeout_s``,
``--ray-timeout``) starts about when it starts running; it includes the worker's first imports
(torch, hwnas: a few seconds on a fresh worker). A job that raises, whose worker dies, or that runs
past ``timeout_s`` (cancelled) is submitted once more; if it fails again it is yielded as failed
with its error (one line), and the caller records it as failed instead of archiving it.

``local`` starts a Ray instance on this machine (``local:N`` with N CPUs; default: all cores),
without the dashboard, and `close` shuts it down; an ADDRESS (``host:port``, ``ray://host:port``
or ``auto``) connects to a running cluster, and `close` only disconnects from it. A Ray session
that is already initialised in this process is used as it is and left running.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from typing import Callable, Iterator, Sequence

from hwnas.errors import HwnasUsageError

RAY_MISSING = "--ray needs the optional extra: pip install 'hwnas[ray]'"
DEFAULT_TIMEOUT_S = 600.0
ATTEMPTS = 2  # a failed or timed-out job is tried once more, then recorded as failed
LOCAL = "local"
_CONNECT_S = 5.0  # TCP reachability check of an ADDRESS, before Ray's own (much longer) retries

Result = tuple[int, dict, float, str]  # (arch id, scores, ms, error: "" when it succeeded)


def _shown(flag: str, address: str) -> str:
    """``--ray ADDRESS`` (CLI) or ``ray='ADDRESS'`` (Python API, ``flag`` ends with ``=``)."""
    return f"{flag}{address!r}" if flag.endswith("=") else f"{flag} {address}"


def import_ray(flag: str = "--ray"):
    """The ``ray`` module, or a one-line usage error naming the optional extra."""
    try:
        import ray
    except ImportError:
        raise HwnasUsageError(RAY_MISSING.replace("--ray", flag, 1)) from None
    return ray


def parse_local(address: str, flag: str = "--ray") -> "tuple[bool, int | None]":
    """(is local, CPUs or None) of ``--ray`` text: ``local`` or ``local:N``."""
    text = address.strip()
    if text.lower() == LOCAL:
        return True, None
    if text.lower().startswith(LOCAL + ":"):
        n = text.split(":", 1)[1].strip()
        if not n.isdigit() or int(n) < 1:
            raise HwnasUsageError(f"{_shown(flag, text)}: give local or local:N with N CPUs (a whole number >= 1)")
        return True, int(n)
    return False, None


def _host_port(address: str, flag: str = "--ray") -> "tuple[str, int] | None":
    """(host, port) to check of ``host:port`` / ``ray://host:port`` (default ports 6379 / 10001);
    None for ``auto`` (Ray finds the local cluster itself and fails at once when there is none)."""
    text = address.strip()
    if text.lower() == "auto":
        return None
    default = 6379
    if text.startswith("ray://"):
        text, default = text[len("ray://"):], 10001
    text = text.rstrip("/")
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host or (port and not port.isdigit()):
        raise HwnasUsageError(f"{_shown(flag, address)}: give local, local:N, auto, HOST:PORT or ray://HOST:PORT")
    return host, int(port) if port else default


def check_ray(address: str, flag: str = "--ray") -> None:
    """Before any work: ray is installed, and ADDRESS (unless ``local`` / ``auto``) accepts a TCP
    connection within a few seconds (else a one-line error naming it)."""
    import_ray(flag)
    local, _ = parse_local(address, flag)
    if local:
        return
    target = _host_port(address, flag)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=_CONNECT_S):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise HwnasUsageError(f"{_shown(flag, address)}: cannot reach a Ray cluster at {target[0]}:{target[1]} "
                              f"({why}); start one there (ray start --head) or use {_shown(flag, 'local')}"
                              ) from None


def _task(fn: Callable, job: tuple) -> tuple[object, str]:
    """One job in a Ray worker, torch at one thread: (fn(job), "") or (None, its error)."""
    import torch

    torch.set_num_threads(1)
    try:
        return fn(job), ""
    except Exception as exc:  # noqa: BLE001 - recorded, not raised: the run goes on
        return None, _one_line(exc)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


class RayBackend:
    """A connection to Ray (started or joined) that runs scoring jobs as tasks."""

    def __init__(self, address: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        ray = import_ray()
        self.address = address.strip()
        self.timeout_s = float(timeout_s)
        local, cpus = parse_local(self.address)
        self.started = False  # hwnas started a local instance (close shuts it down)
        self.connected = False  # hwnas connected this process (close disconnects)
        if ray.is_initialized():
            pass  # the caller's session: used as it is, left running
        elif local:
            n = cpus or os.cpu_count() or 1
            ray.init(address="local", num_cpus=int(n), include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False)
            self.started = self.connected = True
        else:
            try:
                ray.init(address=self.address, logging_level=logging.ERROR, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise HwnasUsageError(f"--ray {self.address}: cannot connect to a Ray cluster there "
                                      f"({_one_line(exc)})") from None
            self.connected = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_task)
        self.retried = 0
        self.failed = 0

    def cpus(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def info(self) -> dict:
        """What ran the jobs, for run.json."""
        return {"kind": "ray", "address": self.address, "cluster_cpus": self.cpus(),
                "started_local_instance": self.started, "timeout_s": self.timeout_s,
                "attempts_per_arch": ATTEMPTS, "retried": self.retried, "failed": self.failed}

    def close(self) -> None:
        import ray

        if self.connected and ray.is_initialized():
            ray.shutdown()  # stops the instance hwnas started; only disconnects from a cluster
        self.connected = self.started = False

    def run(self, jobs: Sequence[tuple], fn: Callable) -> Iterator[Result]:
        """``fn(job)`` -> (id, scores, ms) of each job as a Ray task, yielded as each completes:
        (id, scores, ms, "") or, after ``ATTEMPTS`` failures, (id, {}, nan, error)."""
        import ray

        pending = list(range(len(jobs)))[::-1]  # positions in ``jobs``; pop() takes them in order
        tries = [0] * len(jobs)
        running: dict = {}  # ObjectRef -> (position, submitted at)
        cap = self.cpus()
        try:
            while pending or running:
                while pending and len(running) < cap:
                    pos = pending.pop()
                    tries[pos] += 1
                    running[self._remote.remote(fn, jobs[pos])] = (pos, time.monotonic())
                wait_s = max(0.05, min(t for _, t in running.values()) + self.timeout_s - time.monotonic())
                done, _ = ray.wait(list(running), num_returns=1, timeout=min(wait_s, 5.0))
                failures: list[tuple[int, str]] = []
                for ref in done:
                    pos, _ = running.pop(ref)
                    try:
                        value, error = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the worker died, the task was cancelled, ...
                        value, error = None, _one_line(exc)
                    if error:
                        failures.append((pos, error))
                    else:
                        yield value[0], value[1], value[2], ""
                now = time.monotonic()
                for ref, (pos, t) in list(running.items()):
                    if now - t > self.timeout_s:
                        ray.cancel(ref, force=True)
                        del running[ref]
                        failures.append((pos, f"timed out after {self.timeout_s:g} s"))
                for pos, error in failures:
                    if tries[pos] < ATTEMPTS:
                        self.retried += 1
                        pending.append(pos)
                    else:
                        self.failed += 1
                        yield jobs[pos][0], {}, math.nan, f"{error} ({ATTEMPTS} attempts)"
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
