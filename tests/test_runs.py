"""Run history (nets.runs.RunStore, recording) and the Runs page (app_pages/runs.py)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import nets.runs as runs_mod
from nets.jobs import JobRunner, train_job
from nets.models import build_model
from nets.runs import SCHEMA_VERSION, RunStore, RunStoreError, curve_points, recording
from nets.train import History, TrainConfig, load_checkpoint
from ui.training import row_name

ROOT = Path(__file__).resolve().parents[1]
logging.getLogger("streamlit").setLevel(logging.ERROR)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setenv("D2L_LAB_DATA_DIR", str(d))
    return d


def make_run(model="lenet", optimizer="adam", lr=1e-3, acc=0.8, n_epochs=2, seed=0):
    """A config, a History with per-epoch rows and intra-epoch points, and real weights."""
    config = TrainConfig(model=model, dataset="digits", epochs=n_epochs, batch_size=64, lr=lr,
                         optimizer=optimizer, device="cpu", seed=seed)
    epochs = [{"epoch": e, "train_loss": 1.0 / e, "train_acc": acc - 0.1 / e,
               "test_acc": acc - 0.05 / e, "examples_per_s": 1000.0 + e, "seconds": 0.5}
              for e in range(1, n_epochs + 1)]
    points = [{"step": 5 * i, "epoch_float": i / 2, "train_loss": 2.0 / (i + 1),
               "train_acc": acc * i / (2 * n_epochs), "test_acc": acc if i % 2 == 0 else None}
              for i in range(1, 2 * n_epochs + 1)]
    history = History(config=config, device="cpu", epochs=epochs, points=points,
                      final_test_acc=acc, steps=10 * n_epochs, seconds=1.25, batch_size=64, lr=lr)
    torch.manual_seed(seed)
    net = build_model(model, num_classes=10)
    return config, history, {k: v.detach().clone() for k, v in net.state_dict().items()}


# ----------------------------------------------------------------------------- the store


def test_a_fast_run_is_listed_with_the_batch_and_rate_it_used(data_dir):
    import dataclasses

    config, history, sd = make_run()
    config = dataclasses.replace(config, fast=True)
    history.config, history.batch_size, history.lr = config, 128, 0.0014
    store = RunStore()
    row = store.get(store.add(config, history, sd))
    assert (row.batch_size, row.lr) == (128, 0.0014)  # the table and the legend show these
    assert "bs 128" in row_name(row)
    assert (row.config["batch_size"], row.config["lr"]) == (64, 1e-3)


def test_default_path_round_trip_and_delete(data_dir):
    store = RunStore()
    assert store.path == (data_dir / "runs.sqlite").absolute()
    assert store.list() == []
    c1, h1, sd1 = make_run("lenet", acc=0.7)
    c2, h2, sd2 = make_run("lenet-bn", optimizer="sgd", lr=0.1, acc=0.9)
    id1 = store.add(c1, h1, sd1)
    time.sleep(0.01)
    id2 = store.add(c2, h2, sd2, status="stopped", classes=[str(i) for i in range(10)])
    assert id1 != id2

    listed = store.list()
    assert [r.id for r in listed] == [id2, id1]  # newest first
    row = store.get(id2)
    assert (row.model, row.dataset, row.optimizer, row.lr, row.batch_size, row.epochs) == \
        ("lenet-bn", "digits", "sgd", 0.1, 64, 2)
    assert (row.status, row.final_test_acc, row.seconds, row.device) == ("stopped", 0.9, 1.25,
                                                                        "cpu")
    assert row.train_config() == c2
    assert store.history(id1) == json.loads(json.dumps(h1.to_dict()))
    assert store.list(model="lenet") == [store.get(id1)]
    assert store.list(dataset="fashion-mnist") == []
    assert store.get("20990101-000000-deadbeef") is None
    assert store.get("../../etc/passwd") is None
    with pytest.raises(KeyError):
        store.history("20990101-000000-deadbeef")

    w1, w2 = store.weights_path(id1), store.weights_path(id2)
    assert w1.parent == data_dir / "weights" and w1.name == f"{id1}.pt" and w2.is_file()
    assert store.delete([id1]) == 1
    assert not w1.exists() and w2.is_file()
    assert [r.id for r in store.list()] == [id2]
    assert store.get(id1) is None and store.weights_path(id1) is None
    assert store.delete([id1]) == 0  # already gone: harmless
    assert store.delete([id2]) == 1 and not w2.exists() and store.list() == []


def test_weights_load_back_safely(data_dir):
    store = RunStore()
    config, history, sd = make_run("lenet-bn-scratch", seed=3)
    rid = store.add(config, history, sd, classes=[f"c{i}" for i in range(10)])
    path = store.weights_path(rid)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["model_id"] == "lenet-bn-scratch"
    assert raw["config"] == config.to_dict() and raw["classes"][0] == "c0"
    assert raw["history"]["final_test_acc"] == 0.8
    loaded = load_checkpoint(path, "lenet-bn-scratch")
    assert set(loaded) == set(sd)
    for k, v in sd.items():
        assert torch.equal(loaded[k], v), k
    net = build_model("lenet-bn-scratch", num_classes=10)
    net.load_state_dict(loaded)  # really the model's weights, moving statistics included


def test_model_argument_and_run_without_weights(data_dir):
    store = RunStore()
    config, history, _ = make_run()
    net = build_model("lenet", num_classes=10)
    rid = store.add(config, history, model=net)
    loaded = load_checkpoint(store.weights_path(rid), "lenet")
    assert all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())
    bare = store.add(config, history.to_dict())  # plain dicts, no weights
    assert store.get(bare).weights_path is None and store.weights_path(bare) is None
    assert not store.get(bare).has_weights and store.get(rid).has_weights
    with pytest.raises(ValueError, match="status"):
        store.add(config, history, status="weird")


def test_restart_keeps_every_finished_run(data_dir):
    ids = []
    for i in range(3):
        store = RunStore()  # a new store object each time, as after a server restart
        c, h, sd = make_run(seed=i, acc=0.5 + i / 10)
        ids.append(store.add(c, h, sd))
    reopened = RunStore(data_dir / "runs.sqlite")
    assert {r.id for r in reopened.list()} == set(ids)
    assert all(reopened.weights_path(i) is not None for i in ids)
    assert sorted(r.final_test_acc for r in reopened.list()) == [0.5, 0.6, 0.7]
    with sqlite3.connect(reopened.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_adds_from_eight_threads_all_land(data_dir):
    store = RunStore()
    config, history, sd = make_run()
    sd = {k: v for k, v in list(sd.items())[:2]}  # small files: the point is the database
    ids, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(k):
        try:
            barrier.wait()
            own = RunStore() if k % 2 else store  # shared object and separate objects alike
            for _ in range(4):
                rid = own.add(config, history, sd)
                with lock:
                    ids.append(rid)
        except Exception as exc:  # noqa: BLE001
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert len(ids) == 32 == len(set(ids))
    assert {r.id for r in store.list()} == set(ids)
    assert len(list((data_dir / "weights").glob("*.pt"))) == 32


def test_corrupt_database_gives_clear_error(data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / "runs.sqlite").write_bytes(b"this is not sqlite at all " * 100)
    with pytest.raises(RunStoreError, match="damaged or is not a SQLite database") as info:
        RunStore()
    assert "runs.sqlite" in str(info.value) and "delete it" in str(info.value)


def test_database_damaged_after_opening(data_dir):
    store = RunStore()
    c, h, sd = make_run()
    store.add(c, h, sd)
    store.path.write_bytes(b"\x00garbage" * 500)
    for p in store.path.parent.glob("runs.sqlite-*"):
        p.unlink()  # WAL and shared-memory files of the old database
    with pytest.raises(RunStoreError, match="damaged"):
        store.list()
    with pytest.raises(RunStoreError, match="damaged"):
        store.add(c, h, sd)
    assert list((data_dir / "weights").glob("*.pt")) != []  # only the first run's file
    assert len(list((data_dir / "weights").glob("*.pt"))) == 1  # the failed add left no file


def test_locked_database_gives_clear_error(data_dir, monkeypatch):
    store = RunStore()
    monkeypatch.setattr(runs_mod, "BUSY_TIMEOUT_S", 0.2)
    c, h, sd = make_run()
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(RunStoreError, match="locked by another program"):
            store.add(c, h, sd)
        assert list((data_dir / "weights").glob("*.pt")) == []  # the weights went with the row
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.add(c, h, sd)  # free again


def test_newer_schema_is_refused(data_dir):
    RunStore()
    with sqlite3.connect(data_dir / "runs.sqlite") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RunStoreError, match="newer version"):
        RunStore()


def test_cleanup_orphans_removes_only_unreferenced_old_files(data_dir):
    store = RunStore()
    c, h, sd = make_run()
    keep = store.add(c, h, sd)
    orphan = data_dir / "weights" / "20200101-000000-0123abcd.pt"  # weights of a crashed add
    orphan.write_bytes(b"x")
    temp = data_dir / "weights" / ".ckpt-abc.tmp"  # a torn temporary file
    temp.write_bytes(b"x")
    foreign = data_dir / "weights" / "notes.txt"
    foreign.write_text("mine")
    assert store.cleanup_orphans() == []  # too young: an add may be about to insert its row
    old = time.time() - 3600
    for p in (orphan, temp, foreign):
        os.utime(p, (old, old))
    assert sorted(store.cleanup_orphans()) == sorted([orphan, temp])
    assert foreign.exists() and store.weights_path(keep).is_file()


def test_tampered_weights_path_never_touches_other_files(data_dir, tmp_path):
    store = RunStore()
    c, h, sd = make_run()
    rid = store.add(c, h, sd)
    victim = tmp_path / "victim.pt"
    victim.write_bytes(b"precious")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET weights_path = ? WHERE id = ?", (str(victim), rid))
    assert store.weights_path(rid) is None
    store.delete([rid])
    assert victim.read_bytes() == b"precious"


# ----------------------------------------------------------------------------- recording jobs


TINY = TrainConfig(model="lenet-bn", dataset="digits", epochs=1, batch_size=256, max_steps=3,
                   device="cpu")


def test_recording_writes_the_run_from_the_worker_thread(data_dir):
    threads = []
    (data_dir / "weights").mkdir(parents=True, exist_ok=True)
    orphan = data_dir / "weights" / "20200101-000000-0123abcd.pt"  # a crashed add's, long ago
    orphan.write_bytes(b"x")
    os.utime(orphan, (time.time() - 3600,) * 2)

    def factory():
        threads.append(threading.current_thread())
        return RunStore()

    runner = JobRunner(max_concurrent=1, cancel_if_abandoned=False)
    try:
        job = runner.submit("alice", recording(train_job(TINY), factory))
        assert job.wait(120)
    finally:
        runner.shutdown()
    assert job.status == "done", job.error
    result = job.result
    assert result.store_error is None and result.run_id
    assert threads and threads[0] is not threading.main_thread()
    assert threads[0].name.startswith("nets-job")
    row = RunStore().get(result.run_id)
    assert (row.model, row.dataset, row.status) == ("lenet-bn", "digits", "done")
    assert row.final_test_acc == pytest.approx(result.history.final_test_acc)
    hist = RunStore().history(result.run_id)
    assert hist["steps"] == 3 and hist["points"] == result.history.to_dict()["points"]
    sd = load_checkpoint(RunStore().weights_path(result.run_id), "lenet-bn")
    assert all(torch.equal(sd[k], v) for k, v in result.state_dict.items())
    assert not orphan.exists()  # the worker tidied up after the run


@pytest.mark.parametrize("failure", ["factory", "add"])
def test_store_failure_does_not_fail_the_job(data_dir, failure, caplog):
    def factory():
        if failure == "factory":
            raise RunStoreError("the run history /x/runs.sqlite is locked by another program")
        store = RunStore()
        store.add = lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device"))
        return store

    runner = JobRunner(max_concurrent=1, cancel_if_abandoned=False)
    try:
        with caplog.at_level(logging.WARNING, logger="nets.runs"):
            job = runner.submit("bob", recording(train_job(TINY), factory))
            assert job.wait(120)
    finally:
        runner.shutdown()
    assert job.status == "done" and job.error is None
    assert job.result.run_id is None
    assert ("locked" if failure == "factory" else "No space left") in job.result.store_error
    assert job.result.history.final_test_acc is not None  # the training result is intact
    assert any("run not recorded" in r.getMessage() for r in caplog.records)
    if failure == "add":
        assert RunStore().list() == []


def test_recording_marks_stopped_runs_and_skips_empty_ones(data_dir):
    config, history, sd = make_run()
    history.stopped = True

    class Result:
        pass

    def stopped_job(ctx):
        r = Result()
        r.history, r.state_dict, r.classes, r.config = history, sd, tuple("0123456789"), config
        return r

    res = recording(stopped_job, RunStore)(None)
    assert RunStore().get(res.run_id).status == "stopped"
    assert recording(lambda ctx: None, RunStore)(None) is None  # stopped while loading
    history.steps = 0
    res = recording(stopped_job, RunStore)(None)
    assert res.run_id is None and res.store_error is None
    assert len(RunStore().list()) == 1


def test_curve_points_put_each_epochs_test_accuracy_on_its_last_step():
    # A run stored before fit attached it: its points carry no test accuracy; the epochs do.
    points = [{"step": s, "epoch_float": s / 2, "train_loss": 1.0, "train_acc": 0.5,
               "test_acc": None} for s in (1, 2, 3, 4)]
    epochs = [{"epoch": 1, "step": 2, "test_acc": 0.7}, {"epoch": 2, "step": 4, "test_acc": 0.8}]
    got = curve_points({"points": points, "epochs": epochs})
    assert [p["test_acc"] for p in got] == [None, 0.7, None, 0.8]
    assert points[1]["test_acc"] is None  # the stored history is not changed
    # without points: one per epoch
    assert [(p["epoch_float"], p["test_acc"]) for p in curve_points({"epochs": epochs})] == \
        [(1.0, 0.7), (2.0, 0.8)]


# ----------------------------------------------------------------------------- the Runs page


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "runs.py"), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def curve_names(at: AppTest) -> set[str]:
    charts = at.get("plotly_chart")
    assert charts, "no chart"
    spec = json.loads(charts[0].proto.spec)
    # every curve carries its run's full name (shown on hover); an overlay's legend the short one
    return {tr["meta"] for tr in spec["data"] if tr.get("meta")}


def two_runs():
    store = RunStore()
    c1, h1, sd1 = make_run("lenet", acc=0.6)
    id1 = store.add(c1, h1, sd1)
    time.sleep(0.01)
    c2, h2, sd2 = make_run("lenet-bn", acc=0.9)
    id2 = store.add(c2, h2, sd2)
    return store, id1, id2


def test_page_empty_store_is_friendly(data_dir):
    at = page()
    assert any("No runs yet" in i.value for i in at.info)
    assert not at.dataframe
    assert any("Batch normalization" in m.value for m in at.markdown)  # the training pages


def test_page_bad_database_shows_an_error_not_a_traceback(data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / "runs.sqlite").write_bytes(b"not a database" * 100)
    at = page()
    assert any("cannot be read" in e.value and "damaged" in e.value for e in at.error)


def test_a_stopped_runs_epochs_table_writes_a_dash_where_a_row_has_no_value(data_dir):
    # the epoch the run stopped in is partial; the whole ones have no "partial" key, and the
    # grid wrote the missing values as "None" (in English on a Chinese page too)
    config, history, sd = make_run()
    history.epochs.append({"epoch": 3, "train_loss": 0.4, "train_acc": 0.7, "test_acc": 0.75,
                           "examples_per_s": 990.0, "seconds": 0.2, "partial": True})
    store = RunStore()
    store.add(config, history, sd)
    at = page()
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    epochs = next(d for d in at.dataframe if "examples_per_s" in d.value.columns)
    assert epochs.value["partial"].isna().sum() == 2 and epochs.proto.placeholder == "—"


def test_page_lists_overlays_and_deletes(data_dir):
    store, id1, id2 = two_runs()
    at = page()
    table = at.dataframe(key="runs_table").value
    assert list(table["id"]) == [id2, id1]
    assert list(table["model"]) == ["lenet-bn", "lenet"]
    assert not at.get("plotly_chart")  # nothing selected yet

    at.session_state["runs_table"] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = {row_name(store.get(id1)), row_name(store.get(id2))}
    assert curve_names(at) == labels  # both runs overlaid
    assert len(at.get("download_button")) == 2
    epochs_tables = [d for d in at.dataframe if "examples_per_s" in d.value.columns]
    assert len(epochs_tables) == 2 and list(epochs_tables[0].value["epoch"]) == [1, 2]

    # delete the older run: the button stays disabled until "I am sure" is ticked
    at.session_state["runs_table"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert curve_names(at) == {row_name(store.get(id1))}
    assert at.button(key="runs_delete").disabled
    at.checkbox(key="runs_confirm").check().run()
    assert not at.button(key="runs_delete").disabled
    w1 = store.weights_path(id1)
    at.button(key="runs_delete").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [r.id for r in store.list()] == [id2]
    assert not w1.exists() and store.weights_path(id2).is_file()
    assert any("Deleted 1 run" in s.value for s in at.success)
    assert list(at.dataframe(key="runs_table").value["id"]) == [id2]
    assert not at.get("plotly_chart")  # the selection was cleared with the deleted row
    assert at.session_state["runs_confirm"] is False  # the next deletion asks again


def test_page_deletes_the_ticked_run_when_another_tab_adds_one(data_dir):
    # The table's selection is row numbers. A run finished in another tab becomes the new top
    # row: the tick must stay on the run the user ticked, and Delete must delete that one.
    store, id1, id2 = two_runs()
    at = page()
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": []}}  # id2
    at.run()
    assert curve_names(at) == {row_name(store.get(id2))}
    time.sleep(0.01)
    c3, h3, sd3 = make_run("lenet-bn", acc=0.7)
    id3 = store.add(c3, h3, sd3)  # meanwhile, in another tab
    at.checkbox(key="runs_confirm").check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert list(at.dataframe(key="runs_table").value["id"]) == [id3, id2, id1]
    assert at.session_state["runs_table"]["selection"]["rows"] == [1]  # the tick moved with id2
    assert curve_names(at) == {row_name(store.get(id2))}
    assert any(row_name(store.get(id2)) in m.value for m in at.markdown)  # named before deleting
    at.button(key="runs_delete").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert sorted(r.id for r in store.list()) == sorted([id1, id3])


def test_page_filters_by_model(data_dir):
    store, id1, id2 = two_runs()
    at = page()
    at.multiselect(key="runs_models").select("lenet").run()
    assert list(at.dataframe(key="runs_table").value["id"]) == [id1]
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert curve_names(at) == {row_name(store.get(id1))}


@pytest.mark.skipif("app_pages/runs.py" not in (ROOT / "app.py").read_text(),
                    reason="the Runs page is not in app.py's navigation yet")
def test_page_through_the_app_router(data_dir):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.switch_page("app_pages/runs.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("page_link")) >= 3  # empty: links to the training pages
    two_runs()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe(key="runs_table").value) == 2


def test_one_damaged_row_does_not_hide_the_other_runs(data_dir):
    store = RunStore()
    good = store.add(*make_run(seed=1))
    bad = store.add(*make_run(seed=2))
    with sqlite3.connect(store.path) as conn:  # e.g. written by hand, or by another tool
        conn.execute("UPDATE runs SET lr = 'abc' WHERE id = ?", (bad,))
    assert [r.id for r in store.list()] == [good]
    with pytest.raises(RunStoreError, match="cannot be read"):
        store.get(bad)


def test_page_overlay_legend_is_one_short_entry_per_run_with_a_summary(data_dir):
    # review 16b: 9 legend rows of "model · optimizer lr · bs · id: curve" for 3 runs took half
    # the chart on a projector; now one entry per run (model and id tail), a key of the line
    # styles, and a line of text saying where each run ended
    from ui.training import row_short

    store, id1, id2 = two_runs()
    at = page()
    at.session_state["runs_table"] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = [tr for tr in spec["data"] if tr.get("showlegend", True)]
    runs = [tr["name"] for tr in shown if tr.get("legend", "legend") == "legend"]
    assert runs == [row_short(store.get(id1)), row_short(store.get(id2))]  # oldest first
    assert runs[0] == f"lenet · {id1[-4:]}"
    assert len(shown) == 2 + 3  # and the line-style key
    summary = [c.value for c in at.caption if "epoch(s)" in c.value]
    assert summary == [f"lenet · {id1[-4:]}: 2 epoch(s), train accuracy 0.550, test accuracy "
                       f"0.575. lenet-bn · {id2[-4:]}: 2 epoch(s), train accuracy 0.850, test "
                       "accuracy 0.875."]


def test_the_runs_page_colours_runs_as_the_training_page_did(data_dir):
    # a session's first run is orange and its second blue on the training page (its runs in
    # order); the Runs page coloured them the other way round (its table lists the newest first)
    from ui.training import RUN_COLORS

    store, id1, id2 = two_runs()
    at = page()
    at.session_state["runs_table"] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    colours = {tr["meta"]: tr["line"]["color"] for tr in spec["data"] if tr.get("meta")}
    assert colours == {row_name(store.get(id1)): RUN_COLORS[0],
                       row_name(store.get(id2)): RUN_COLORS[1]}


def test_the_runs_table_puts_what_tells_runs_apart_first(data_dir):
    """At 1280 px the table shows about six columns: the test accuracy and the status must be
    among them (they came ninth and tenth; review 17)."""
    two_runs()
    columns = list(page().dataframe(key="runs_table").value.columns)
    assert columns[:5] == ["created", "model", "dataset", "test accuracy", "status"], columns


def test_a_run_without_a_test_accuracy_reads_a_dash_not_none(data_dir):
    """A run stopped before its first test pass has no test accuracy: the table wrote "None" (in
    English on a Chinese page too) where its expander says "–" (browser review)."""
    store, id1, id2 = two_runs()
    c3, h3, sd3 = make_run("resnet18", acc=0.7)
    h3.final_test_acc = None
    store.add(c3, h3, sd3)
    table = page().dataframe(key="runs_table").value
    assert dict(zip(table["model"], table["test accuracy"])) == {
        "lenet": "0.6000", "lenet-bn": "0.9000", "resnet18": "–"}
    assert sorted(table["test accuracy"]) == ["0.6000", "0.9000", "–"]  # as the numbers sort


def test_the_ticked_runs_are_in_the_link_and_survive_a_page_trip(data_dir):
    """Review 19: the ticked runs and the filters were lost on a trip to another page, and no
    link could show them (the URL stayed /runs)."""
    store, id1, id2 = two_runs()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.switch_page("app_pages/runs.py").run()
    at.multiselect(key="runs_models").select("lenet").select("lenet-bn").run()
    at.session_state["runs_table"] = {"selection": {"rows": [1], "columns": []}}  # id1
    at.run()
    assert curve_names(at) == {row_name(store.get(id1))}
    assert at.query_params["runs"] in (id1, [id1])
    at.switch_page("app_pages/explorer.py").run()
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert curve_names(at) == {row_name(store.get(id1))}  # still ticked
    assert at.multiselect(key="runs_models").value == ["lenet", "lenet-bn"]
    # a link with two runs (and one that is gone) opens with them ticked, and says what is missing
    link = AppTest.from_file(str(ROOT / "app_pages" / "runs.py"), default_timeout=30)
    link.query_params["runs"] = f"{id2},{id1},nosuchrun"
    link.run()
    assert curve_names(link) == {row_name(store.get(id1)), row_name(store.get(id2))}
    assert any("not in the history" in w.value and "nosuchrun" in w.value for w in link.warning)
    # unticking all takes the runs out of the link
    link.session_state["runs_table"] = {"selection": {"rows": [], "columns": []}}
    link.run()
    assert "runs" not in link.query_params and not link.get("plotly_chart")
