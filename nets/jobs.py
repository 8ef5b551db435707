"""Background jobs: submit / progress / stop, one running job per owner.

A :class:`JobRunner` runs each job's function in a daemon worker thread that never touches
Streamlit; the function receives a :class:`JobContext` with ``report(progress)`` and
``should_stop()``. Pages poll ``runner.get(owner)`` and read thread-safe snapshots
(``job.progress``, ``job.points``, ``job.status``). The app creates one runner with
``st.cache_resource``; nothing here is module-level mutable state, so another backend (a process
pool, a remote queue) can replace the runner without touching pages.

At most ``max_concurrent`` jobs run at once (1 on CPU, where two trainings would only share the
same cores); further jobs wait in FIFO order with a visible ``job.queue_position``. A page calls
``job.touch(watcher)`` on every poll; a job whose owner has not polled for ``abandon_after`` seconds
is stopped, so a closed browser tab frees its worker, unless one of the watchers that polled it is
still connected (``watcher_alive``): a browser throttles a hidden tab's timers (Chrome to one
wake-up a minute), so a tab the user switched away from stops polling but keeps its connection.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
FINISHED = ("done", "stopped", "failed")
DOWNLOAD_REPORT_EVERY = 0.25  # seconds between a download's progress reports
MAX_POINTS = 2000  # live-chart points kept per job; older ones are thinned 2:1 beyond this


def worker_threads(cpus: int | None = None) -> int:
    """Torch's threads for a run trained inside a server (the app's worker, and the command line
    that ``bench/page_overhead.py`` measures against it): one core is left to the server, which
    keeps drawing pages while the run trains; with every core in torch's pool, training on a busy
    2-core machine ran up to 20x slower. At least one."""
    return max(1, ((os.cpu_count() or 1) if cpus is None else cpus) - 1)


class JobBusy(RuntimeError):
    """The owner already has a queued or running job."""


class Job:
    """One submitted function. Read its fields from any thread; they are snapshots."""

    def __init__(self, runner: "JobRunner", job_id: str, owner: str,
                 fn: Callable[["JobContext"], Any], label: str = "",
                 meta: dict | None = None):
        self._runner = runner
        self._lock = runner._lock
        self.id = job_id
        self.owner = owner
        self.label = label
        self.meta = dict(meta or {})  # the submitter's notes (which page, how many epochs)
        self._fn = fn
        self._status = "queued"
        self._progress: Any = None
        self._points: list[Any] = []
        self.result: Any = None
        self.error: str | None = None  # one clear sentence for users
        self.traceback: str | None = None  # for logs, never shown to users
        self.stop_reason: str | None = None  # "requested" | "abandoned"
        self.submitted_at = time.time()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._last_seen = runner._clock()
        self._watchers: set[str] = set()  # who polled it (e.g. browser sessions), see touch()
        self._stop = threading.Event()
        self._done = threading.Event()

    # -- read side (pages)
    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def progress(self) -> Any:
        """The latest reported progress (a copy), or None before the first report."""
        with self._lock:
            return copy.copy(self._progress)

    @property
    def points(self) -> list[Any]:
        """All reported progress snapshots so far, for a live chart (a new list each read)."""
        with self._lock:
            return list(self._points)

    @property
    def queue_position(self) -> int | None:
        """1 for the next job to start, 2 behind it, ...; None when not queued."""
        return self._runner._queue_position(self)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def touch(self, watcher: str | None = None) -> None:
        """Mark the owner as still watching (call on every poll); ``watcher``: who polls (a
        browser session's id), asked about with the runner's ``watcher_alive`` once polls stop."""
        with self._lock:
            self._last_seen = self._runner._clock()
            if watcher is not None:
                self._watchers.add(watcher)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job finished; True if it did within ``timeout``."""
        return self._done.wait(timeout)

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, owner={self.owner!r}, status={self.status!r})"


class JobContext:
    """What a job function gets: report progress, ask whether to stop."""

    def __init__(self, job: Job):
        self._job = job

    @property
    def job_id(self) -> str:
        return self._job.id

    def report(self, progress: Any) -> None:
        job = self._job
        snap = copy.copy(progress)
        with job._lock:
            job._progress = snap
            job._points.append(snap)
            if len(job._points) > MAX_POINTS:
                job._points = _thinned(job._points)

    def should_stop(self) -> bool:
        return self._job._stop.is_set()


def _default_max_concurrent() -> int:
    try:
        import torch

        return 2 if torch.cuda.is_available() else 1
    except Exception:  # pragma: no cover - torch is a dependency
        return 1


def _clear_message(exc: BaseException) -> str:
    """One readable line for users; the traceback goes to the log."""
    text = " ".join(str(exc).split())
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return "out of memory: try a smaller batch size or input size"
    if not text:
        return f"the job failed ({type(exc).__name__})"
    if len(text) > 300:
        text = text[:297] + "..."
    if isinstance(exc, (ValueError, OSError)) or type(exc).__module__.startswith(("nets.", "optim.")):
        return text  # the project's own errors (DataUnavailable, CheckpointError...) read well
    return f"{type(exc).__name__}: {text}"


def _thinned(points: list[Any]) -> list[Any]:
    """Every other point, keeping the last one and those that carry a test accuracy (an
    evaluation's, phase "eval"): the live chart's test-accuracy markers stay."""
    last = len(points) - 1
    kept = [p for i, p in enumerate(points)
            if i % 2 == 0 or i == last or getattr(p, "phase", None) == "eval"]
    if len(kept) > MAX_POINTS:  # evaluations alone fill it (an evaluation every few steps)
        kept = kept[:-1:2] + [kept[-1]]
    return kept


class JobRunner:
    """Thread-safe registry of jobs keyed by owner (e.g. a browser session id)."""

    def __init__(self, max_concurrent: int | None = None, *, cancel_if_abandoned: bool = True,
                 abandon_after: float = 30.0, watch_interval: float = 1.0,
                 keep_finished: float = 3600.0, clock: Callable[[], float] = time.monotonic,
                 watcher_alive: Callable[[str], bool] | None = None):
        if max_concurrent is None:
            max_concurrent = _default_max_concurrent()
        if int(max_concurrent) < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {max_concurrent}")
        if abandon_after <= 0:
            raise ValueError(f"abandon_after must be positive, got {abandon_after}")
        self.max_concurrent = int(max_concurrent)
        self.cancel_if_abandoned = bool(cancel_if_abandoned)
        self.abandon_after = float(abandon_after)
        self.watch_interval = float(watch_interval)
        self.keep_finished = float(keep_finished)
        self._clock = clock
        self._watcher_alive = watcher_alive
        self._lock = threading.RLock()
        self._latest: dict[str, Job] = {}
        self._queue: list[Job] = []
        self._running: set[Job] = set()
        self._ids = itertools.count(1)
        self._watcher: threading.Thread | None = None
        self._wake = threading.Event()

    # -- public API
    def submit(self, owner: str, fn: Callable[[JobContext], Any], label: str = "",
               meta: dict | None = None) -> Job:
        """Queue ``fn`` for ``owner``; it starts as soon as a worker slot is free. ``meta``: any
        notes the submitter wants back with the job (:attr:`Job.meta`).

        Raises JobBusy if the owner already has a queued or running job.
        """
        if not callable(fn):
            raise TypeError("fn must be callable")
        with self._lock:
            self._evict_finished()
            current = self._latest.get(owner)
            if current is not None and current._status in ACTIVE:
                raise JobBusy(f"a job is already {current._status} for this session; "
                              "stop it or wait for it to finish")
            job = Job(self, f"job-{next(self._ids)}", owner, fn, label, meta)
            self._latest[owner] = job
            self._queue.append(job)
            self._dispatch()
            self._ensure_watcher()
            return job

    def get(self, owner: str) -> Job | None:
        """The owner's latest job (running or finished), or None."""
        with self._lock:
            return self._latest.get(owner)

    def stop(self, owner: str, reason: str = "requested") -> Job | None:
        """Ask the owner's job to stop (idempotent). A queued job is stopped at once."""
        with self._lock:
            job = self._latest.get(owner)
            if job is not None:
                self._stop_job(job, reason)
            return job

    def jobs(self) -> list[Job]:
        """Every job still remembered (latest per owner)."""
        with self._lock:
            return list(self._latest.values())

    def active(self) -> list[Job]:
        with self._lock:
            return [j for j in self._latest.values() if j._status in ACTIVE]

    def check_abandoned(self) -> list[Job]:
        """Stop every active job whose owner stopped polling and none of whose watchers is still
        connected; returns the jobs it stopped."""
        if not self.cancel_if_abandoned:
            return []
        now = self._clock()
        stopped = []
        with self._lock:
            for job in list(self._latest.values()):
                if job._status in ACTIVE and not job._stop.is_set() \
                        and now - job._last_seen > self.abandon_after \
                        and not self._still_watched(job):
                    self._stop_job(job, "abandoned")
                    stopped.append(job)
        for job in stopped:
            log.info("job %s of %s stopped: owner stopped polling", job.id, job.owner)
        return stopped

    def _still_watched(self, job: Job) -> bool:
        """Whether a watcher that polled ``job`` is still connected (dead ones are forgotten)."""
        if self._watcher_alive is None:
            return False
        with job._lock:
            watchers = list(job._watchers)
        alive = False
        for w in watchers:
            try:
                ok = bool(self._watcher_alive(w))
            except Exception:  # a broken check must not keep every run alive, nor kill the watch
                log.exception("watcher_alive(%r) failed", w)
                ok = False
            if ok:
                alive = True
            else:
                with job._lock:
                    job._watchers.discard(w)
        return alive

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Stop every job and wait for the workers (tests, server shutdown)."""
        with self._lock:
            jobs = list(self._latest.values())
            for job in jobs:
                self._stop_job(job, "requested")
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            job.wait(left)

    # -- internals (called with the lock held unless noted)
    def _stop_job(self, job: Job, reason: str) -> None:
        if job._status not in ACTIVE:
            return
        if not job._stop.is_set():
            job.stop_reason = reason
            job._stop.set()
        if job._status == "queued":
            if job in self._queue:
                self._queue.remove(job)
            job._status = "stopped"
            job.finished_at = time.time()
            job._done.set()

    def _queue_position(self, job: Job) -> int | None:
        with self._lock:
            if job._status != "queued":
                return None
            try:
                return self._queue.index(job) + 1
            except ValueError:
                return None

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self.max_concurrent:
            job = self._queue.pop(0)
            job._status = "running"
            job.started_at = time.time()
            self._running.add(job)
            t = threading.Thread(target=self._work, args=(job,), name=f"nets-{job.id}",
                                 daemon=True)
            t.start()

    def _work(self, job: Job) -> None:  # worker thread, lock not held
        ctx = JobContext(job)
        result, error, tb = None, None, None
        try:
            result = job._fn(ctx)
        except BaseException as e:  # noqa: BLE001 - a job must never kill its worker silently
            error, tb = _clear_message(e), traceback.format_exc()
            log.warning("job %s of %s failed: %s\n%s", job.id, job.owner, error, tb)
        with self._lock:
            job.result = result
            job.error = error
            job.traceback = tb
            if error is not None:
                job._status = "failed"
            elif job._stop.is_set() and not getattr(result, "complete", False):
                job._status = "stopped"  # a result that is complete wins over a late request
            else:
                job._status = "done"
            job.finished_at = time.time()
            job._fn = None  # drop closures (datasets, models) once finished
            self._running.discard(job)
            job._done.set()
            self._dispatch()

    def _evict_finished(self) -> None:
        now = self._clock()
        for owner, job in list(self._latest.items()):
            if job._status in FINISHED and now - job._last_seen > self.keep_finished:
                del self._latest[owner]

    def _ensure_watcher(self) -> None:
        if not self.cancel_if_abandoned:
            return
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._watcher = threading.Thread(target=self._watch, name="nets-job-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:  # watcher thread: exits when nothing is active
        while True:
            self._wake.wait(self.watch_interval)
            self._wake.clear()
            self.check_abandoned()
            with self._lock:
                if not any(j._status in ACTIVE for j in self._latest.values()):
                    self._watcher = None
                    return


# ----------------------------------------------------------------------------- training jobs


@dataclass
class TrainResult:
    """What a training job leaves for the page: history, weights and test-set predictions."""

    history: Any  # nets.train.History
    state_dict: dict  # CPU tensors
    classes: tuple
    # (K, K) int64 numpy array; rows = true class, columns = predicted; from the test pass behind
    # history.final_test_acc; None when a stop came before the first test pass
    confusion: Any
    sample_images: Any  # (32, 28, 28) uint8 numpy: the first test images
    sample_preds: Any  # (32,) int64 numpy: from the same test pass (without one, the weights')
    sample_labels: Any  # (32,) int64 numpy
    config: Any  # nets.train.TrainConfig

    @property
    def test_acc(self) -> float | None:
        return self.history.final_test_acc

    @property
    def complete(self) -> bool:
        """Whether training ran to its end (a stop request that came later does not count)."""
        return not self.history.stopped


def train_job(config, num_samples: int = 32) -> Callable[[JobContext], TrainResult | None]:
    """A job function: load the dataset, build the model (seeded), fit, then build the confusion
    matrix and sample grid from the test-set predictions behind the reported test accuracy
    (fit's final evaluation; after a stop, the last finished epoch's).

    Validates the config now (ValueError before anything is queued); everything else happens in
    the worker thread.
    """
    config.validate()

    def run(ctx: JobContext) -> TrainResult:
        import numpy as np

        from nets.data import DownloadCancelled, load_dataset
        from nets.models import build_model
        from nets.train import Progress, acceleration, fit, input_size, predict

        ctx.report(Progress(phase="load", message=config.dataset))

        last_report = [-math.inf]

        def downloading(name: str, done: int, total: int | None) -> None:
            if ctx.should_stop():  # Stop, or a closed tab: free the worker between chunks
                raise DownloadCancelled(name)
            now = time.monotonic()  # every chunk is 64 KiB: report a few times a second
            if now - last_report[0] < DOWNLOAD_REPORT_EVERY and done != total:
                return
            last_report[0] = now
            size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else \
                f"{done / 1e6:.1f} MB"
            ctx.report(Progress(phase="download", message=f"{name}, {size}"))

        try:
            data = load_dataset(config.dataset, data_dir=config.data_dir, progress=downloading)
        except DownloadCancelled:
            return None  # the partial file is gone; the files already complete are kept
        if ctx.should_stop():
            return None  # stopped while loading: status 'stopped', no result
        model = build_model(config.model, num_classes=len(data.classes), seed=config.seed)
        history = fit(model, data, config, on_progress=ctx.report, should_stop=ctx.should_stop)
        # The test pass behind the reported test accuracy: the final one, or after a stop the
        # last finished epoch's. No second pass over the test set after a stop: the user asked
        # to stop, and it would take a minute for ResNet-18 on Fashion-MNIST on a CPU.
        preds = history.final_test_preds
        labels = data.test_y.cpu()
        k = len(data.classes)
        n = min(num_samples, int(labels.shape[0]))
        confusion = None
        if preds is not None:
            preds = history.final_test_preds = preds.cpu()  # the result holds no device memory
            confusion = np.bincount((labels * k + preds).numpy(),
                                    minlength=k * k).reshape(k, k).astype(np.int64)
            sample_preds = preds[:n]
        else:  # stopped before the first test pass: the weights at the stop, on the samples only
            accel = acceleration(config, next(model.parameters()).device)
            sample_preds = predict(model, data.test_x[:n], input_size(config),
                                   autocast=accel.autocast,
                                   channels_last=accel.channels_last).cpu()
        state = {key: v.detach().to("cpu").clone() for key, v in model.state_dict().items()}
        return TrainResult(
            history=history,
            state_dict=state,
            classes=tuple(data.classes),
            confusion=confusion,
            sample_images=data.test_x[:n, 0].cpu().numpy().astype(np.uint8),
            sample_preds=sample_preds.numpy().astype(np.int64),
            sample_labels=labels[:n].numpy().astype(np.int64),
            config=config,
        )

    return run

