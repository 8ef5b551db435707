"""JobRunner: submit / progress / stop, one job per owner, FIFO queue, abandoned jobs, failures;
and the train_job helper end to end on the offline digits set."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from nets.jobs import JobBusy, JobRunner, TrainResult, train_job, worker_threads

WAIT = 10.0  # generous upper bound for a worker thread to react; tests normally take ms


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def wait_until(pred, timeout=WAIT, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def looping_job(started: threading.Event | None = None, reports: int | None = None):
    """Reports an increasing counter until asked to stop (or after ``reports`` reports)."""

    def fn(ctx):
        i = 0
        while not ctx.should_stop():
            i += 1
            ctx.report({"step": i})
            if started is not None and i == 1:
                started.set()
            if reports is not None and i >= reports:
                return f"finished {i}"
            time.sleep(0.002)
        return f"stopped at {i}"

    return fn


@pytest.fixture
def runner():
    r = JobRunner(max_concurrent=1, abandon_after=30.0)
    yield r
    r.shutdown(timeout=WAIT)


def test_submit_reports_progress_and_finishes(runner):
    job = runner.submit("alice", looping_job(reports=5))
    assert job.wait(WAIT)
    assert job.status == "done"
    assert job.result == "finished 5"
    assert job.error is None
    assert [p["step"] for p in job.points] == [1, 2, 3, 4, 5]
    assert job.progress == {"step": 5}
    assert job.started_at is not None and job.finished_at >= job.started_at
    assert runner.get("alice") is job
    assert runner.get("bob") is None


def test_points_and_progress_are_copies(runner):
    job = runner.submit("alice", looping_job(reports=3))
    assert job.wait(WAIT)
    pts = job.points
    pts.clear()
    assert len(job.points) == 3
    snap = job.progress
    snap["step"] = 99
    assert job.progress == {"step": 3}


def test_stop_running_job_and_stop_twice_is_harmless(runner):
    started = threading.Event()
    job = runner.submit("alice", looping_job(started))
    assert started.wait(WAIT)
    assert job.status == "running"
    runner.stop("alice")
    runner.stop("alice")  # second stop: no error, same outcome
    assert job.wait(WAIT)
    assert job.status == "stopped"
    assert job.result.startswith("stopped at ")
    assert job.stop_reason == "requested"
    runner.stop("alice")  # stopping a finished job is harmless too
    assert job.status == "stopped"
    assert runner.stop("nobody") is None


def test_second_submit_while_running_is_busy_then_allowed_after(runner):
    started = threading.Event()
    job = runner.submit("alice", looping_job(started))
    assert started.wait(WAIT)
    with pytest.raises(JobBusy):
        runner.submit("alice", looping_job())
    runner.stop("alice")
    assert job.wait(WAIT)
    job2 = runner.submit("alice", looping_job(reports=1))
    assert job2.wait(WAIT) and job2.status == "done"
    assert job2.id != job.id
    assert runner.get("alice") is job2


def test_two_owners_queue_fifo_with_positions():
    runner = JobRunner(max_concurrent=1)
    try:
        started = threading.Event()
        a = runner.submit("alice", looping_job(started))
        assert started.wait(WAIT)
        b = runner.submit("bob", looping_job(reports=2))
        c = runner.submit("carol", looping_job(reports=2))
        assert a.queue_position is None and a.status == "running"
        assert (b.status, b.queue_position) == ("queued", 1)
        assert (c.status, c.queue_position) == ("queued", 2)
        with pytest.raises(JobBusy):  # a queued job also counts as busy
            runner.submit("bob", looping_job())
        runner.stop("alice")
        assert b.wait(WAIT) and c.wait(WAIT)
        assert (a.status, b.status, c.status) == ("stopped", "done", "done")
        assert b.started_at <= c.started_at
        assert b.queue_position is None
    finally:
        runner.shutdown(timeout=WAIT)


def test_two_owners_run_side_by_side_when_allowed():
    runner = JobRunner(max_concurrent=2)
    try:
        sa, sb = threading.Event(), threading.Event()
        a = runner.submit("alice", looping_job(sa))
        b = runner.submit("bob", looping_job(sb))
        assert sa.wait(WAIT) and sb.wait(WAIT)
        assert a.status == b.status == "running"
        runner.stop("alice")
        assert a.wait(WAIT)
        assert a.status == "stopped" and b.status == "running"  # bob is unaffected
        runner.stop("bob")
        assert b.wait(WAIT) and b.status == "stopped"
    finally:
        runner.shutdown(timeout=WAIT)


def test_stopping_a_queued_job_removes_it_from_the_queue():
    runner = JobRunner(max_concurrent=1)
    try:
        started = threading.Event()
        runner.submit("alice", looping_job(started))
        assert started.wait(WAIT)
        ran = threading.Event()
        b = runner.submit("bob", lambda ctx: ran.set())
        c = runner.submit("carol", looping_job(reports=1))
        runner.stop("bob")
        assert b.status == "stopped" and b.done
        assert c.queue_position == 1
        runner.stop("alice")
        assert c.wait(WAIT) and c.status == "done"
        assert not ran.is_set()  # the stopped queued job never ran
    finally:
        runner.shutdown(timeout=WAIT)


def test_abandoned_job_is_stopped_but_a_polled_one_is_not():
    now = [1000.0]
    runner = JobRunner(max_concurrent=2, abandon_after=30.0, clock=lambda: now[0],
                       watch_interval=0.01)
    try:
        sa, sb = threading.Event(), threading.Event()
        a = runner.submit("alice", looping_job(sa))
        b = runner.submit("bob", looping_job(sb))
        assert sa.wait(WAIT) and sb.wait(WAIT)
        now[0] += 20.0
        b.touch()  # bob's page is still polling
        now[0] += 20.0  # alice last seen 40 s ago, bob 20 s ago
        assert wait_until(lambda: a.done)  # the watcher thread stopped it
        assert a.status == "stopped" and a.stop_reason == "abandoned"
        assert b.status == "running"
        assert runner.check_abandoned() == []
    finally:
        runner.shutdown(timeout=WAIT)


def test_a_job_whose_watcher_is_still_connected_is_not_abandoned():
    # A hidden tab: its polls stop (the browser throttles its timers) but its session is
    # still connected, so its run goes on; once the session is gone, the run stops.
    now = [1000.0]
    connected = {"tab-1": True, "tab-2": False}
    asked = []

    def alive(session):
        asked.append(session)
        if session == "broken":
            raise RuntimeError("no runtime")
        return connected.get(session, False)

    runner = JobRunner(max_concurrent=2, abandon_after=30.0, clock=lambda: now[0],
                       watch_interval=3600, watcher_alive=alive)
    try:
        started = threading.Event()
        a = runner.submit("alice", looping_job(started))
        assert started.wait(WAIT)
        for watcher in ("tab-1", "tab-2", "broken"):
            a.touch(watcher)
        now[0] += 40.0
        assert runner.check_abandoned() == [] and a.status == "running"
        assert set(asked) >= {"tab-1"}
        assert a._watchers == {"tab-1"}  # the closed and the broken one are forgotten
        connected["tab-1"] = False  # the tab is closed
        assert runner.check_abandoned() == [a]
        assert a.wait(WAIT) and a.stop_reason == "abandoned"
    finally:
        runner.shutdown(timeout=WAIT)


def test_abandon_can_be_switched_off():
    now = [0.0]
    runner = JobRunner(max_concurrent=1, cancel_if_abandoned=False, clock=lambda: now[0])
    try:
        started = threading.Event()
        a = runner.submit("alice", looping_job(started))
        assert started.wait(WAIT)
        now[0] += 1e6
        assert runner.check_abandoned() == []
        assert a.status == "running"
    finally:
        runner.shutdown(timeout=WAIT)


def test_failing_job_has_clear_error_and_keeps_traceback_for_logs(runner):
    def boom(ctx):
        ctx.report({"step": 1})
        raise ValueError("batch size must be between 1 and 65536, got 0")

    job = runner.submit("alice", boom)
    assert job.wait(WAIT)
    assert job.status == "failed"
    assert job.error == "batch size must be between 1 and 65536, got 0"
    assert "Traceback" not in job.error
    assert "Traceback" in job.traceback and "boom" in job.traceback
    assert job.result is None
    # the worker slot is free again
    job2 = runner.submit("alice", looping_job(reports=1))
    assert job2.wait(WAIT) and job2.status == "done"


def test_non_value_error_is_named(runner):
    job = runner.submit("alice", lambda ctx: {}["missing"])
    assert job.wait(WAIT)
    assert job.status == "failed"
    assert job.error.startswith("KeyError")


def test_bad_runner_arguments():
    with pytest.raises(ValueError):
        JobRunner(max_concurrent=0)
    with pytest.raises(ValueError):
        JobRunner(abandon_after=0)


def test_train_job_on_digits_end_to_end(runner):
    from nets.train import Progress, TrainConfig

    config = TrainConfig(model="lenet-bn", dataset="digits", epochs=1, batch_size=64, lr=0.01,
                         device="cpu", max_steps=6)
    job = runner.submit("alice", train_job(config))
    assert job.wait(60)
    assert job.status == "done", job.error
    res = job.result
    assert isinstance(res, TrainResult)
    assert res.history.steps == 6
    k = len(res.classes)
    assert res.confusion.shape == (k, k)
    from nets.data import load_dataset
    data = load_dataset("digits")
    assert res.confusion.sum() == data.test_y.shape[0]
    # rows are true classes: each row sums to that class's test count
    counts = np.bincount(data.test_y.numpy(), minlength=k)
    assert (res.confusion.sum(axis=1) == counts).all()
    assert np.trace(res.confusion) / res.confusion.sum() == pytest.approx(
        res.history.final_test_acc, abs=1e-6)
    assert res.sample_images.dtype == np.uint8 and res.sample_images.shape[0] == 32
    assert (res.sample_labels == data.test_y[:32].numpy()).all()
    assert all(v.device.type == "cpu" for v in res.state_dict.values())
    phases = [p.phase for p in job.points if isinstance(p, Progress)]
    assert phases[0] == "load" and phases[-1] == "done"


def test_train_job_reuses_fits_final_predictions(runner, monkeypatch):
    """One pass over the test set per evaluation: the confusion matrix comes from fit's final
    evaluation, not from predicting the whole test set again."""
    import nets.train as train
    from nets.train import TrainConfig

    calls = []
    real = train.predict
    monkeypatch.setattr(train, "predict", lambda *a, **k: calls.append(1) or real(*a, **k))
    config = TrainConfig(model="lenet-bn", dataset="digits", epochs=1, batch_size=64, lr=0.01,
                         device="cpu")
    job = runner.submit("alice", train_job(config))
    assert job.wait(60) and job.status == "done", job.error
    assert len(calls) == 1  # fit's end-of-epoch evaluation, and nothing after it
    assert np.trace(job.result.confusion) / job.result.confusion.sum() == pytest.approx(
        job.result.history.final_test_acc, abs=1e-6)


class _StopAfter:
    """A job context whose stop request comes at its n-th look."""

    def __init__(self, n: int):
        self.n, self.looks = n, 0

    def report(self, progress) -> None:
        pass

    def should_stop(self) -> bool:
        self.looks += 1
        return self.looks > self.n


@pytest.mark.parametrize("stop_at", [5, 30])  # in epoch 1; in epoch 2 (24 steps an epoch)
def test_a_stopped_train_job_does_not_pass_over_the_test_set_again(monkeypatch, stop_at):
    # After Stop the result comes at once: the confusion matrix is the last finished epoch's
    # (the one behind the test accuracy shown), or none before the first test pass, when only
    # the sample images are predicted, with the weights at the stop.
    import nets.train as train
    from nets.data import load_dataset
    from nets.train import TrainConfig

    sizes = []
    real = train.predict
    monkeypatch.setattr(train, "predict",
                        lambda m, x, *a, **k: sizes.append(int(x.shape[0])) or real(m, x, *a, **k))
    config = TrainConfig(model="lenet-bn", dataset="digits", epochs=5, batch_size=64,
                         device="cpu")
    # a look while loading, one before each step and each test batch (epoch 1's pass: one)
    res = train_job(config)(_StopAfter(stop_at + 1 + (stop_at >= 24)))
    n_test = int(load_dataset("digits").test_y.shape[0])
    assert res.history.stopped and res.history.steps == stop_at
    assert res.sample_preds.shape == (32,)
    if stop_at < 24:
        assert res.confusion is None and res.history.final_test_acc is None
        assert sizes == [32]
    else:
        assert sizes == [n_test]  # epoch 1's test pass, and nothing after the stop
        assert np.trace(res.confusion) / res.confusion.sum() == pytest.approx(
            res.history.final_test_acc, abs=1e-6)


def test_train_job_rejects_bad_config_before_queueing():
    from nets.train import TrainConfig

    with pytest.raises(ValueError, match="batch size"):
        train_job(TrainConfig(dataset="digits", batch_size=0))


def test_train_job_stop(runner):
    from nets.train import TrainConfig

    config = TrainConfig(model="lenet-bn", dataset="digits", epochs=50, batch_size=16,
                         device="cpu")
    job = runner.submit("alice", train_job(config))
    assert wait_until(lambda: job.progress is not None and getattr(job.progress, "step", 0) > 0,
                      timeout=60)
    runner.stop("alice")
    assert job.wait(60)
    assert job.status == "stopped"
    assert job.result is not None and job.result.history.stopped
    assert job.result.history.steps < 50 * 90


def test_thinning_the_live_points_keeps_every_test_accuracy():
    from types import SimpleNamespace

    from nets.jobs import MAX_POINTS

    def job(ctx):  # 12 minutes of reports every 0.25 s, an epoch's test pass every 150
        for i in range(1, 3001):
            ctx.report(SimpleNamespace(step=i, phase="eval" if i % 150 == 0 else "train"))

    runner = JobRunner(max_concurrent=1)
    try:
        j = runner.submit("me", job)
        assert j.wait(WAIT)
        steps = [p.step for p in j.points]
        assert len(steps) <= MAX_POINTS and steps == sorted(steps) and steps[-1] == 3000
        assert [s for s in steps if s % 150 == 0] == list(range(150, 3001, 150))
    finally:
        runner.shutdown(timeout=WAIT)


def test_a_stop_that_comes_after_training_ended_leaves_the_run_done():
    from types import SimpleNamespace

    runner = JobRunner(max_concurrent=1)
    try:
        def late(ctx):  # the stop lands while the confusion matrix is built
            runner.stop("me")
            return TrainResult(history=SimpleNamespace(stopped=False, final_test_acc=0.9),
                               state_dict={}, classes=(), confusion=None, sample_images=None,
                               sample_preds=None, sample_labels=None, config=None)

        j = runner.submit("me", late)
        assert j.wait(WAIT) and j.status == "done" and j.result.complete
    finally:
        runner.shutdown(timeout=WAIT)


@pytest.mark.parametrize("cpus, threads", [(1, 1), (2, 1), (4, 3), (16, 15), (0, 1)])
def test_a_server_run_leaves_one_core_to_the_server(cpus, threads):
    # the one rule behind the app's worker (ui.training.job_runner) and the command line that
    # bench/page_overhead.py compares it with; (0: os.cpu_count() unknown)
    assert worker_threads(cpus) == threads


def test_the_app_worker_trains_on_that_many_threads(monkeypatch):
    import torch
    pytest.importorskip("streamlit")  # the ui package (bench/gpu_check.sh runs this file on a GPU
    from ui import training           # machine that may have no streamlit)

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(training.os, "cpu_count", lambda: 4)
    before = torch.get_num_threads()
    try:
        training.job_runner.__wrapped__()  # the function under st.cache_resource
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
