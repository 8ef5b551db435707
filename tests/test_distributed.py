"""``python -m nets.train --distributed`` under torchrun: two CPU processes (gloo), one JSON line
per epoch from rank 0 only, and the same accuracy as one process within noise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--model", "lenet-bn", "--dataset", "digits", "--device", "cpu", "--epochs", "2",
        "--batch-size", "32", "--lr", "0.001", "--seed", "0", "--json"]

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    # one intra-op thread per process: two processes share the two cores of a CI machine
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _epochs(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_two_processes_match_one(tmp_path):
    save = tmp_path / "ddp.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "-m", "nets.train", "--distributed", *ARGS, "--save", str(save),
           "--compile"]  # not used under DDP: the run says so and trains as without it
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=150, cwd=ROOT, env=_env())
    assert r.returncode == 0, r.stderr[-3000:]
    epochs = _epochs(r.stdout)
    assert [e["epoch"] for e in epochs] == [1, 2], r.stdout  # printed once, by rank 0 only
    assert r.stderr.count("note: torch.compile: not used with --distributed") == 1  # rank 0
    for e in epochs:
        assert e["world_size"] == 2
        assert 0.0 <= e["test_acc"] <= 1.0 and e["train_loss"] > 0
    assert save.is_file()
    saved = torch.load(save, map_location="cpu", weights_only=True)
    assert saved["model_id"] == "lenet-bn" and not any(k.startswith("module.")
                                                     for k in saved["state_dict"])
    # the reported test accuracy is the saved model's (each process scored its shard with its
    # own BatchNorm statistics, and only rank 0's were saved)
    from nets.data import load_dataset
    from nets.models import build_model
    from nets.train import load_checkpoint, predict

    model = build_model("lenet-bn")
    model.load_state_dict(load_checkpoint(save, "lenet-bn"))
    test = load_dataset("digits")
    hits = int((predict(model, test.test_x) == test.test_y).sum())
    assert round(epochs[-1]["test_acc"] * len(test.test_y)) == hits

    single = subprocess.run([sys.executable, "-m", "nets.train", *ARGS], capture_output=True,
                            text=True, timeout=120, cwd=ROOT, env=_env())
    assert single.returncode == 0, single.stderr[-3000:]
    one = _epochs(single.stdout)
    assert len(one) == 2
    assert abs(epochs[-1]["test_acc"] - one[-1]["test_acc"]) <= 0.05, (epochs, one)
    # the reduced training metrics cover the whole training set, not one shard
    assert abs(epochs[-1]["train_acc"] - one[-1]["train_acc"]) <= 0.05
    assert epochs[-1]["examples"] == one[-1]["examples"]


def test_distributed_without_torchrun_is_a_clear_error():
    env = {k: v for k, v in _env().items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    r = subprocess.run([sys.executable, "-m", "nets.train", "--distributed", *ARGS],
                       capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert r.returncode == 2
    assert "torchrun" in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


@pytest.mark.parametrize("bad", [{"MASTER_PORT": "abc"}, {"RANK": "x"}])
def test_distributed_with_a_garbled_environment_is_one_line(bad):
    # MASTER_PORT=abc or RANK=x: a 27-line traceback from init_process_group (review)
    env = {**_env(), "RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": "29555", **bad}
    r = subprocess.run([sys.executable, "-m", "nets.train", "--distributed", *ARGS],
                       capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--distributed: cannot join the process group" in lines[0], lines
