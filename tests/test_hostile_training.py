"""Hostile input on the training pages: a bad link, no network, two sessions at once, a closed
tab, Start and Stop pressed twice. AppTest, CPU, the offline digits dataset."""

import logging
import socket
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from apptest_util import open_page as _open_page
from apptest_util import wait_for as poll

ROOT = Path(__file__).resolve().parents[1]
logging.getLogger("streamlit").setLevel(logging.ERROR)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def open_page(**query) -> AppTest:
    return _open_page("batchnorm", **query)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU case")
def test_cuda_in_the_link_without_a_gpu_falls_back_with_a_notice():
    at = open_page(bn_device="cuda", bn_dataset="digits")
    assert at.selectbox(key="bn_device").value == "auto"
    assert "cuda" not in at.selectbox(key="bn_device").options
    assert any("bn_device=cuda" in t.value for t in at.toast)


def test_fashion_mnist_without_network_fails_in_plain_words(monkeypatch, tmp_path):
    monkeypatch.setenv("D2L_LAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", f"http://127.0.0.1:{closed_port()}/")
    at = open_page()
    assert at.selectbox(key="bn_dataset").value == "digits"  # offered by default offline
    at.selectbox(key="bn_dataset").set_value("fashion-mnist").run()
    assert any("downloaded" in i.value for i in at.info)
    at.button(key="bn_start").click().run()
    poll(at, lambda a: any("Training failed" in e.value for e in a.error))
    message = [e.value for e in at.error if "Training failed" in e.value][0]
    assert "digits" in message and "Traceback" not in message
    assert not list(tmp_path.glob("*.gz")), "no partial download is left as if complete"


def test_batch_larger_than_the_dataset_is_clipped_with_a_note():
    at = open_page(bn_dataset="digits", bn_batch="1024", bn_epochs="1")
    at.select_slider(key="bn_batch").set_value(1024).run()
    at.button(key="bn_start").click().run()
    poll(at, lambda a: len(a.metric) >= 4)
    assert not at.error


def test_start_twice_and_stop_twice():
    at = open_page(bn_dataset="digits", bn_epochs="50")
    at.button(key="bn_start").click().run()
    assert at.button(key="bn_start").disabled  # a second Start cannot be pressed
    at.button(key="bn_stop").click().run()
    assert not at.exception
    assert at.button(key="bn_stop").disabled  # the run has ended: Stop is greyed out
    at.run()  # a second look after the stop: still one clear state
    assert not at.exception and any("Stopped after" in w.value for w in at.warning)
    assert not at.button(key="bn_start").disabled


def test_two_sessions_at_once_each_see_only_their_own_run():
    a = open_page(bn_dataset="digits", bn_epochs="2", bn_batch="128")
    b = open_page(bn_dataset="digits", bn_epochs="1", bn_batch="256", bn_model="lenet-bn")
    a.button(key="bn_start").click().run()
    b.button(key="bn_start").click().run()
    assert not a.exception and not b.exception
    b.run()
    # on CPU one run at a time: the second session is queued with a visible position
    queued = [i.value for i in b.info if "Queued" in i.value]
    running_b = b.button(key="bn_stop").disabled is False
    assert running_b and (queued or torch.cuda.is_available())
    poll(a, lambda x: len(x.metric) >= 4, timeout=120)
    poll(b, lambda x: len(x.metric) >= 4, timeout=120)
    ma = a.multiselect(key="bn_overlay").options
    mb = b.multiselect(key="bn_overlay").options
    assert len(ma) == 1 and "lenet-bn-scratch" in ma[0] and "bs 128" in ma[0]
    assert len(mb) == 1 and "lenet-bn ·" in mb[0] and "bs 256" in mb[0]


def test_a_run_nobody_watches_is_stopped():
    """A closed tab stops polling; the runner stops its job (the app uses a 10 s grace)."""
    from nets.jobs import JobRunner, train_job
    from nets.train import TrainConfig

    clock = [0.0]
    runner = JobRunner(abandon_after=10.0, watch_interval=0.05, clock=lambda: clock[0])
    job = runner.submit("tab", train_job(TrainConfig(model="lenet-bn", dataset="digits",
                                                     epochs=50, device="cpu")))
    deadline = time.monotonic() + 30
    while job.progress is None or job.progress.phase == "load":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    clock[0] += 11.0  # the tab has been gone for 11 s
    assert job.wait(timeout=20), "the abandoned job did not stop"
    assert job.status == "stopped" and job.stop_reason == "abandoned"
    runner.shutdown()
