"""The chapter's four single-block shape experiments: nets.inspect.inspect_block, its command
line (python -m nets.inspect --block ...) and the block sections of the ResNet and DenseNet pages.

    Residual(3, 3)                               on rand(4, 3, 6, 6)  -> (4, 3, 6, 6)
    Residual(3, 6, use_1x1conv=True, stride=2)   on rand(4, 3, 6, 6)  -> (4, 6, 3, 3)
    DenseBlock(2, 3, 10)                         on rand(4, 3, 8, 8)  -> (4, 23, 8, 8)
    transition_block(23, 10)                     on that Y            -> (4, 10, 4, 4)
"""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from apptest_util import open_page
from nets.inspect import (BLOCKS, BOOK_BLOCKS, MAX_INPUT_ELEMENTS, BlockError, ShapeError,
                          ShortcutMismatch, _plan, block_call, format_block, inspect_block, main)
from nets.models import DenseBlock, Residual, transition_block

ROOT = Path(__file__).resolve().parents[1]
logging.getLogger("streamlit").setLevel(logging.ERROR)

# the book's four experiments as command lines, with the shape it prints
BOOK_COMMANDS = [
    (["--block", "residual", "--in-channels", "3", "--out-channels", "3", "--input", "4,3,6,6"],
     [4, 3, 6, 6]),
    (["--block", "residual", "--in-channels", "3", "--out-channels", "6", "--use-1x1conv",
      "--stride", "2", "--input", "4,3,6,6"], [4, 6, 3, 3]),
    (["--block", "dense", "--num-convs", "2", "--in-channels", "3", "--growth", "10",
      "--input", "4,3,8,8"], [4, 23, 8, 8]),
    (["--block", "transition", "--in-channels", "23", "--out-channels", "10",
      "--input", "4,23,8,8"], [4, 10, 4, 4]),
]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "nets.inspect", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------------ the pure function


def test_the_book_blocks_are_the_chapter_four():
    assert [(b["call"], tuple(b["input"]), tuple(b["output"])) for b in BOOK_BLOCKS] == [
        ("Residual(3, 3)", (4, 3, 6, 6), (4, 3, 6, 6)),
        ("Residual(3, 6, use_1x1conv=True, stride=2)", (4, 3, 6, 6), (4, 6, 3, 3)),
        ("DenseBlock(2, 3, 10)", (4, 3, 8, 8), (4, 23, 8, 8)),
        ("transition_block(23, 10)", (4, 23, 8, 8), (4, 10, 4, 4)),
    ]


@pytest.mark.parametrize("book", BOOK_BLOCKS, ids=lambda b: b["call"])
def test_inspect_block_gives_the_book_shapes(book):
    r = inspect_block(book["kind"], book["params"], book["input"])
    assert r["output"] == list(book["output"]) and r["input"] == list(book["input"])
    assert r["call"] == book["call"] == block_call(book["kind"], r["args"])
    assert r["layers"][-1]["shape"] == list(book["output"])
    assert list(r["args"]) == list(BLOCKS[book["kind"]])
    assert r["params"] == sum(l["params"] for l in r["layers"])
    json.dumps(r)  # plain data
    # the same block, built as the book builds it, gives the same shape
    ctor = {"residual": Residual, "dense": DenseBlock, "transition": transition_block}
    blk = ctor[book["kind"]](*r["args"].values())
    assert tuple(blk(torch.rand(book["input"])).shape) == tuple(book["output"])
    assert r["params"] == sum(p.numel() for p in blk.parameters())
    assert f"-> output {tuple(book['output'])}" in format_block(r)


def test_the_layers_show_the_shortcut_and_the_concatenations():
    r = inspect_block("residual", {"in_channels": 3, "out_channels": 6, "use_1x1conv": True,
                                   "stride": 2}, (4, 3, 6, 6))
    rows = {l["name"]: (l["type"], l["shape"]) for l in r["layers"]}
    assert rows["conv1"] == ("Conv2d", [4, 6, 3, 3])
    assert rows["conv3"] == ("Conv2d", [4, 6, 3, 3])  # the 1x1 shortcut: 3 -> 6, 6x6 -> 3x3
    assert rows["output"] == ("relu(Y + X)", [4, 6, 3, 3])
    assert "conv3" not in {l["name"] for l in inspect_block("residual", {}, (4, 3, 6, 6))["layers"]}
    dense = inspect_block("dense", {"num_convs": 2, "in_channels": 3, "growth": 10}, (4, 3, 8, 8))
    assert [l["shape"][1] for l in dense["layers"] if l["type"] == "torch.cat"] == [13, 23]
    assert [l["shape"][1] for l in dense["layers"] if l["type"] == "Conv2d"] == [10, 10]
    tr = inspect_block("transition", {"in_channels": 23, "out_channels": 10}, (4, 23, 8, 8))
    assert [l["type"] for l in tr["layers"]] == ["BatchNorm2d", "ReLU", "Conv2d", "AvgPool2d"]
    assert tr["layers"][2]["shape"] == [4, 10, 8, 8]


def test_defaults_and_odd_sizes():
    assert inspect_block("residual", {}, (4, 3, 6, 6))["call"] == "Residual(3, 3)"
    assert inspect_block("dense", {"num_convs": 2, "growth": 10}, (4, 3, 8, 8))["output"] == [
        4, 23, 8, 8]
    assert inspect_block("transition", {"out_channels": 10}, (1, 23, 5, 7))["output"] == [
        1, 10, 2, 3]  # the pooling rounds down
    # stride 2 on a 1x1 input keeps 1x1: the add works without the 1x1 convolution
    assert inspect_block("residual", {"stride": 2}, (1, 3, 1, 1))["output"] == [1, 3, 1, 1]
    assert inspect_block("residual", {"out_channels": 8, "use_1x1conv": True, "stride": 3},
                         (2, 3, 7, 7))["output"] == [2, 8, 3, 3]


@pytest.mark.parametrize("kind, args", [
    ("residual", {"in_channels": 5, "out_channels": 7, "use_1x1conv": True, "stride": 3}),
    ("residual", {"in_channels": 4, "out_channels": 4, "use_1x1conv": False, "stride": 1}),
    ("dense", {"num_convs": 3, "in_channels": 5, "growth": 4}),
    ("transition", {"in_channels": 9, "out_channels": 2})])
def test_the_weight_count_checked_before_building_is_exact(kind, args):
    r = inspect_block(kind, args, (1, args["in_channels"] if "in_channels" in args else 1, 9, 9))
    assert _plan(kind, r["args"], r["input"])[2] == r["params"]
    assert _plan(kind, r["args"], r["input"])[0] == tuple(r["output"])


def test_inspecting_a_block_leaves_torch_random_state_alone_and_is_deterministic():
    state = torch.random.get_rng_state()
    a = inspect_block("dense", {"num_convs": 2, "growth": 10}, (4, 3, 8, 8))
    assert torch.equal(state, torch.random.get_rng_state())
    assert a == inspect_block("dense", {"num_convs": 2, "growth": 10}, (4, 3, 8, 8))


@pytest.mark.parametrize("kind, params, shape, exc, needles", [
    ("residual", {"out_channels": 6}, (4, 3, 6, 6), ShortcutMismatch,
     ["3 → 6 channels needs the 1×1 convolution", "residual add Y + X needs matching shapes",
      "X has 3 channels", "output Y 6"]),
    ("residual", {"stride": 2}, (4, 3, 6, 6), ShortcutMismatch,
     ["stride 2 needs the 1×1 convolution", "Y is 3×3", "X stays 6×6"]),
    ("residual", {"out_channels": 6, "stride": 2}, (4, 3, 6, 6), ShortcutMismatch,
     ["3 → 6 channels and stride 2 need the 1×1 convolution", "X is 3×6×6", "Y is 6×3×3"]),
    ("residual", {"stride": 0, "use_1x1conv": True}, (4, 3, 6, 6), BlockError,
     ["stride must be a whole number from 1 to 32, got 0"]),
    ("residual", {"stride": 2.5}, (4, 3, 6, 6), BlockError, ["stride must be a whole number"]),
    ("residual", {"stride": True}, (4, 3, 6, 6), BlockError, ["stride must be a whole number"]),
    ("residual", {"use_1x1conv": "yes"}, (4, 3, 6, 6), BlockError, ["true or false"]),
    ("residual", {"in_channels": 4}, (4, 3, 6, 6), BlockError,
     ["in_channels is 4 but the input (4, 3, 6, 6) has 3 channels"]),
    ("dense", {"num_convs": 2, "in_channels": 4, "growth": 10}, (4, 3, 8, 8), BlockError,
     ["in_channels is 4"]),
    ("dense", {"num_convs": 0, "growth": 10}, (4, 3, 8, 8), BlockError, ["num_convs must be"]),
    ("dense", {"growth": 10}, (4, 3, 8, 8), BlockError, ["block 'dense' needs num_convs"]),
    ("dense", {"num_convs": 2, "growth": 10, "stride": 2}, (4, 3, 8, 8), BlockError,
     ["has no setting stride"]),
    ("transition", {"out_channels": 10}, (4, 23, 1, 8), BlockError,
     ["input 1×8 is too small for the transition block", "2×2 average pooling"]),
    ("transition", {}, (4, 23, 8, 8), BlockError, ["needs out_channels"]),
    ("conv", {}, (4, 3, 8, 8), BlockError, ["unknown block 'conv'"]),
    ("residual", {}, (4, 3, 6), ShapeError, ["4 integers"]),
    ("residual", {}, (0, 3, 6, 6), ShapeError, ["positive"]),
    ("residual", {"out_channels": 1024, "use_1x1conv": True}, (16, 1, 64, 64), BlockError,
     [f"at most {MAX_INPUT_ELEMENTS:,}"]),
    ("dense", {"num_convs": 32, "growth": 1024}, (1, 1, 8, 8), BlockError, ["weights"]),
])
def test_bad_settings_say_why_before_building(kind, params, shape, exc, needles):
    with pytest.raises(exc) as err:
        inspect_block(kind, params, shape)
    msg = str(err.value)
    assert all(n in msg for n in needles), msg
    assert "\n" not in msg and "Traceback" not in msg
    assert isinstance(err.value, ValueError)


# ------------------------------------------------------------------------ the command line


@pytest.mark.parametrize("argv, shape", BOOK_COMMANDS, ids=["residual", "residual-1x1",
                                                            "dense", "transition"])
def test_cli_json_gives_the_book_shapes(argv, shape):
    run = cli(*argv, "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["output"] == shape and report["layers"][-1]["shape"] == shape


def test_cli_table_names_the_block_and_its_output(capsys):
    assert main(BOOK_COMMANDS[1][0]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Residual(3, 6, use_1x1conv=True, stride=2)  input: (4, 3, 6, 6)")
    assert "conv3 (Conv2d)" in out and out.rstrip().endswith("-> output (4, 6, 3, 3)")
    assert main(["--block", "transition", "--out-channels", "10", "--input", "4,23,8,8"]) == 0
    assert "transition_block(23, 10)" in capsys.readouterr().out  # in_channels from the input


BAD = [
    (["--block", "residual", "--out-channels", "6", "--input", "4,3,6,6"],
     "3 → 6 channels needs the 1×1 convolution (--use-1x1conv)"),
    (["--block", "residual", "--stride", "2", "--input", "4,3,6,6"], "stride 2 needs the 1×1"),
    (["--block", "residual", "--stride", "0", "--use-1x1conv", "--input", "4,3,6,6"],
     "stride must be a whole number from 1 to 32, got 0"),
    (["--block", "residual", "--in-channels", "4", "--input", "4,3,6,6"], "has 3 channels"),
    (["--block", "dense", "--num-convs", "2", "--in-channels", "1", "--growth", "10",
      "--input", "4,3,8,8"], "in_channels is 1"),
    (["--block", "transition", "--out-channels", "10", "--input", "4,23,1,1"], "too small"),
    (["--block", "dense", "--growth", "10", "--input", "4,3,8,8"], "needs --num-convs"),
    (["--block", "transition", "--input", "4,23,8,8"], "needs --out-channels"),
    (["--block", "dense", "--num-convs", "2", "--growth", "3", "--stride", "2",
      "--input", "4,3,8,8"], "--stride does not apply to --block dense"),
    (["--model", "resnet18", "--stride", "2", "--input", "1,1,96,96"], "only with --block"),
    (["--block", "conv", "--input", "4,3,8,8"], "unknown block 'conv'"),
    (["--block", "residual", "--stride", "two", "--input", "4,3,6,6"], "invalid int value"),
    (["--block", "residual", "--model", "lenet", "--input", "4,3,6,6"], "not allowed with"),
    (["--block", "residual", "--input", "4,3,6"], "N,C,H,W"),
    (["--block", "residual"], "--input"),
    (["--input", "4,3,6,6"], "--model --block"),
    (["--block", "dense", "--num-convs", "32", "--growth", "1024", "--input", "1,1,8,8"],
     "weights"),
]


@pytest.mark.parametrize("argv, needle", BAD, ids=[str(i) for i in range(len(BAD))])
def test_cli_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], captured.err
    assert lines[0].startswith("python -m nets.inspect: error: ")


@pytest.mark.parametrize("i", [0, 2, 5, 11])
def test_cli_bad_input_in_a_subprocess(i):
    run = cli(*BAD[i][0])
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and BAD[i][1] in run.stderr
    assert "Traceback" not in run.stderr


def test_the_model_command_line_is_unchanged(capsys):
    assert main(["--model", "lenet", "--input", "1,1,28,28", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][-1]["shape"] == [1, 10]


# ------------------------------------------------------------------------ the pages


def shown(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_resnet_block_section_opens_at_the_book_first_example():
    at = open_page("resnet")
    text = shown(at)
    assert ("`Residual(3, 3)` on X of shape 4 × 3 × 6 × 6: the output has shape "
            "**4 × 3 × 6 × 6**.") in text
    assert "The book prints: `torch.Size([4, 3, 6, 6])`" in text
    assert not at.error
    assert [at.number_input(key=k).value for k in ("rn_blk_in", "rn_blk_out", "rn_blk_stride",
                                                   "rn_blk_n", "rn_blk_h", "rn_blk_w")] == [
        3, 3, 1, 4, 6, 6]
    assert at.toggle(key="rn_blk_1x1").value is False


def test_resnet_block_section_updates_and_says_why_a_block_cannot_work():
    at = open_page("resnet")
    at.number_input(key="rn_blk_out").set_value(6).run()
    assert not at.exception
    assert len(at.error) == 1
    msg = at.error[0].value
    assert "3 → 6 channels needs the 1×1 convolution" in msg
    assert "the shortcut's X has 3 channels, the block's output Y 6" in msg
    at.toggle(key="rn_blk_1x1").set_value(True).run()
    assert not at.error and "**4 × 6 × 6 × 6**" in shown(at)
    at.number_input(key="rn_blk_stride").set_value(2).run()
    text = shown(at)
    assert "`Residual(3, 6, use_1x1conv=True, stride=2)`" in text and "**4 × 6 × 3 × 3**" in text
    assert "The book prints: `torch.Size([4, 6, 3, 3])`" in text
    at.toggle(key="rn_blk_1x1").set_value(False).run()
    assert not at.exception and "3 → 6 channels and stride 2 need" in at.error[0].value
    at.number_input(key="rn_blk_out").set_value(3).run()
    assert "stride 2 needs the 1×1 convolution" in at.error[0].value
    at.number_input(key="rn_blk_h").set_value(9).run()
    assert "Y is 5×3 while the shortcut's X stays 9×6" in at.error[0].value


def test_resnet_book_buttons_set_the_two_examples_and_the_link():
    at = open_page("resnet")
    at.button(key="rn_blk_book2").click().run()
    assert not at.exception and not at.error
    assert "**4 × 6 × 3 × 3**" in shown(at)
    assert {k: at.query_params.get(k) for k in ("rn_blk_out", "rn_blk_1x1", "rn_blk_stride")} \
        == {"rn_blk_out": "6", "rn_blk_1x1": "true", "rn_blk_stride": "2"}
    at.number_input(key="rn_blk_n").set_value(2).run()
    assert "**2 × 6 × 3 × 3**" in shown(at) and "The book prints" not in shown(at)
    at.button(key="rn_blk_book1").click().run()
    assert "**4 × 3 × 6 × 6**" in shown(at) and at.toggle(key="rn_blk_1x1").value is False
    # a link with the second example opens it
    linked = open_page("resnet", rn_blk_out="6", rn_blk_1x1="true", rn_blk_stride="2")
    assert "**4 × 6 × 3 × 3**" in shown(linked) and not linked.toast


def test_densenet_block_section_shows_the_book_shapes_and_updates():
    at = open_page("densenet")
    text = shown(at)
    assert "Output channels: 3 + 2 × 10 = **23**" in text
    assert "`DenseBlock(2, 3, 10)` on X of shape 4 × 3 × 8 × 8: the output has shape " \
           "**4 × 23 × 8 × 8**." in text
    assert "`transition_block(23, 10)` on X of shape 4 × 23 × 8 × 8: the output has shape " \
           "**4 × 10 × 4 × 4**." in text
    assert "The book prints: `torch.Size([4, 23, 8, 8])`" in text
    assert "The book prints: `torch.Size([4, 10, 4, 4])`" in text
    assert "Channels 23 → 10" in text and "8 × 8 → 4 × 4" in text
    assert not at.error
    at.number_input(key="dn_blk_growth").set_value(5).run()
    text = shown(at)
    assert "3 + 2 × 5 = **13**" in text and "**4 × 13 × 8 × 8**" in text
    assert "`transition_block(13, 10)`" in text and "**4 × 10 × 4 × 4**" in text
    at.number_input(key="dn_tr_out").set_value(6).run()
    at.number_input(key="dn_blk_w").set_value(7).run()
    assert "**4 × 6 × 4 × 3**" in shown(at)
    at.button(key="dn_blk_book").click().run()
    assert "3 + 2 × 10 = **23**" in shown(at) and "**4 × 10 × 4 × 4**" in shown(at)


def test_densenet_transition_too_small_says_why_without_exception():
    at = open_page("densenet")
    at.number_input(key="dn_blk_h").set_value(1).run()
    assert not at.exception
    assert len(at.error) == 1 and "too small for the transition block" in at.error[0].value
    assert "**4 × 23 × 1 × 8**" in shown(at)  # the dense block itself still works
    at.number_input(key="dn_blk_in").set_value(128).run()
    at.number_input(key="dn_blk_convs").set_value(8).run()
    at.number_input(key="dn_blk_growth").set_value(64).run()
    at.number_input(key="dn_blk_n").set_value(16).run()
    at.number_input(key="dn_blk_h").set_value(64).run()
    at.number_input(key="dn_blk_w").set_value(64).run()
    assert not at.exception and "at most" in at.error[0].value  # too large for the inspector
    assert any("once the dense block works" in i.value for i in at.info)


def test_the_block_sections_in_chinese():
    from test_i18n import english_words, untranslated

    at = open_page("resnet", lang="中文", rn_blk_out="6")
    assert not at.exception
    msg = at.error[0].value
    assert "通道数从 3 变为 6，需要 1×1 卷积层" in msg and "残差相加 Y + X" in msg
    assert not untranslated(at) and not english_words(at)
    at = open_page("densenet", lang="中文", dn_blk_h="1")
    assert "输出通道数：3 + 2 × 10 = **23**" in shown(at)
    assert "对过渡层来说太小" in at.error[0].value
    assert not untranslated(at) and not english_words(at)
