"""A training run's life across pages and tabs, under AppTest: a run that ends while the user is
on another training page goes into its own page's list (and only there), and the Runs page's
weights download survives the run's deletion in another tab, or says that the weights are gone.

The first half of the story, that the other page notices the end by itself (no click), needs
the sidebar badge's timer: tests/browser/test_training_pages.py
``test_a_run_ending_elsewhere_frees_this_page_without_a_click``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import torch
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from apptest_util import open_page
from nets.models import build_model
from nets.runs import RunStore
from nets.train import History, TrainConfig

ROOT = Path(__file__).resolve().parents[1]
logging.getLogger("streamlit").setLevel(logging.ERROR)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------- a run that ends on another page


def wait_done_on_this_page(at: AppTest, job, timeout: float = 120.0) -> None:
    """Rerun the page the test is on (what the sidebar badge's poll does, keeping the run
    alive) until ``job`` has ended, then once more: the page drawn after the end."""
    end = time.monotonic() + timeout
    while not job.done:
        assert time.monotonic() < end, "the run did not end"
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        job.wait(timeout=0.5)
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_run_that_ends_on_another_page_stays_on_its_own_page():
    from ui.training import job_runner

    # digits at batch 512: 3 steps an epoch, a run of a few seconds
    at = open_page("batchnorm", bn_dataset="digits", bn_epochs="1", bn_batch="512",
                   bn_seed="3")
    at.button(key="bn_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    runner, owner = job_runner(), at.session_state["owner"]
    job = runner.get(owner)
    assert job is not None and job.meta["page"] == "bn_"

    at.switch_page("app_pages/resnet.py")
    at.run()
    if not job.done:  # the usual case: the ResNet page waits for the run started elsewhere
        assert at.button(key="rn_start").disabled
        assert any("started on another page" in i.value for i in at.info)
    wait_done_on_this_page(at, job)
    assert job.status == "done", (job.status, job.error)

    # the ResNet page is free, and shows nothing of the batch-norm run
    assert not at.button(key="rn_start").disabled and at.button(key="rn_stop").disabled
    assert not any("started on another page" in i.value for i in at.info)
    assert not at.metric and not at.get("download_button")
    assert "rn_runs" not in at.session_state or not at.session_state["rn_runs"]

    # the user's next run (here a trivial job in its place) replaces it in the runner; back on
    # the batch-norm page the run that ended meanwhile is still there, results and weights
    nxt = runner.submit(owner, lambda ctx: None, label="next", meta={"page": "other_"})
    nxt.wait(timeout=30)
    assert runner.get(owner) is nxt
    at.switch_page("app_pages/batchnorm.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    kept = at.session_state["bn_runs"] if "bn_runs" in at.session_state else []
    assert [r["id"] for r in kept] == [job.id], "the run that ended meanwhile is lost"
    assert len(at.metric) >= 4 and 0.0 < float(at.metric[0].value) <= 1.0
    assert [d.proto.label for d in at.get("download_button")] == ["Download weights (.pt)"]
    assert at.multiselect(key="bn_overlay").options, "the run is offered for the overlay"


# ------------------------------------------------------------- the Runs page's download


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    monkeypatch.setenv("D2L_LAB_DATA_DIR", str(tmp_path / "data"))
    return RunStore()


def add_run(store: RunStore, seed: int = 0) -> str:
    config = TrainConfig(model="lenet", dataset="digits", epochs=1, batch_size=64,
                         device="cpu", seed=seed)
    epochs = [{"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "test_acc": 0.75,
               "examples_per_s": 1000.0, "seconds": 0.5}]
    history = History(config=config, device="cpu", epochs=epochs, final_test_acc=0.75,
                      steps=24, seconds=0.5, batch_size=64, lr=1e-3,
                      points=[{"step": 24, "epoch_float": 1.0, "train_loss": 0.5,
                               "train_acc": 0.8, "test_acc": 0.75}])
    torch.manual_seed(seed)
    return store.add(config, history, build_model("lenet", num_classes=10).state_dict())


def runs_page(ticked: list[int]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "runs.py"), default_timeout=30)
    at.run()
    at.session_state["runs_table"] = {"selection": {"rows": ticked, "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def served(monkeypatch) -> dict[str, bytes]:
    """File name -> the bytes Streamlit stored to serve for a download drawn with bytes."""
    got: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, bytes):
            got[filename] = path_or_data
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return got


def test_the_runs_download_still_serves_weights_deleted_in_another_tab(store, served):
    rid = add_run(store)
    weights = store.weights_path(rid).read_bytes()
    at = runs_page([0])
    button = at.get("download_button")[0].proto
    assert button.label == "Download weights (.pt)" and button.ignore_rerun
    # the bytes were read as the page was drawn: not a callable run on the click, which found
    # no file once another tab had deleted the run
    assert not button.deferred_file_id and button.url, button
    name = f"lenet-digits-{rid}.pt"
    assert served.get(name) == weights
    assert store.delete([rid]) == 1  # another tab's Delete
    assert served[name] == weights  # what a click now downloads
    payload = torch.load(__import__("io").BytesIO(served[name]), weights_only=True)
    assert payload["model_id"] == "lenet"


def test_the_runs_page_says_when_the_weights_are_gone(store, monkeypatch):
    rid = add_run(store)
    gone = store.weights_path(rid)
    # deleted in another tab between the store naming the file and the page reading it
    real = RunStore.weights_path

    def then_deleted(self, run_id):
        path = real(self, run_id)
        if path is not None:
            path.unlink()
        return path

    monkeypatch.setattr(RunStore, "weights_path", then_deleted)
    at = runs_page([0])
    assert not gone.exists()
    assert any("no longer available" in w.value for w in at.warning), [w.value for w in at.warning]
    assert not at.get("download_button")


def test_many_large_weights_are_read_on_the_click_not_all_at_once(store, served):
    """Only up to the page's budget of weights is read as it is drawn (ResNet-18's are 45 MB):
    the runs past it keep a download that reads the file when clicked."""
    small, big = add_run(store, seed=1), add_run(store, seed=2)
    store.weights_path(big).write_bytes(b"\0" * (65 * 2**20))  # past the 64 MiB budget
    at = runs_page([0, 1])
    buttons = {b.proto.id.split("runs_weights_")[-1]: b.proto for b in at.get("download_button")}
    assert set(buttons) == {small, big}
    assert buttons[big].deferred_file_id and f"lenet-digits-{big}.pt" not in served
    assert not buttons[small].deferred_file_id and f"lenet-digits-{small}.pt" in served


# ------------------------------------------------------- the sidebar badge before the first step


def test_the_sidebar_badge_says_queued_then_loading_then_the_percentage():
    """On any page the badge says what this session's run is doing: queued behind another
    session's run (with its place), then loading its data, then how far it is."""
    import threading

    from nets.train import Progress
    from ui.training import job_runner

    at = open_page("explorer")
    runner, owner = job_runner(), at.session_state["owner"]
    release_other, loading, loaded, finish = (threading.Event() for _ in range(4))
    other = runner.submit("someone-else", lambda ctx: release_other.wait(30), label="theirs")

    def mine(ctx):
        ctx.report(Progress(phase="load", message="digits"))
        loading.set()
        loaded.wait(30)
        ctx.report(Progress(phase="train", step=30, total_steps=120, epoch=1))
        finish.wait(30)

    job = runner.submit(owner, mine, label="mine", meta={"page": "bn_"})

    def badge() -> list[str]:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return [p.proto.text for p in at.sidebar.get("progress")]

    try:
        assert badge() == ["Queued: mine, position 1"]
        release_other.set()
        assert loading.wait(30)
        assert badge() == ["Training mine: Loading data: digits"]
        loaded.set()
        end = time.monotonic() + 30
        while (p := job.progress) is None or p.step == 0:
            assert time.monotonic() < end
            time.sleep(0.05)
        assert badge() == ["Training mine: 25%"]
    finally:
        for e in (release_other, loaded, finish):
            e.set()
        job.wait(timeout=30)
        other.wait(timeout=30)
