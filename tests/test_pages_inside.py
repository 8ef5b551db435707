"""The "Inside the model" tab under AppTest: after a run on digits it is computed only once it
is opened, then shows the per-layer output statistics, the first conv's filters and the
activation maps of the test image picked."""

import base64
import logging

import numpy as np

from apptest_util import open_page, wait_for

logging.getLogger("streamlit").setLevel(logging.ERROR)


def _chart(at, key: str):
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key)]
    assert len(found) == 1, [c.proto.id for c in at.get("plotly_chart")]
    import json
    return json.loads(found[0].proto.spec)


def _array(spec) -> np.ndarray:
    """A plotly typed array (what the figure sends for a numpy array) as numpy."""
    if isinstance(spec, dict):
        shape = [int(n) for n in str(spec.get("shape", "")).split(",") if n.strip()]
        a = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])
        return a.reshape(shape) if shape else a
    return np.array(spec, dtype=float)


def _images(at) -> list:
    """The tab's images: after the 32 of the "Test images" tab (drawn first, whatever tab is
    open)."""
    images = [img for el in at.get("image") for img in el.proto.imgs]
    return images[32:]


def test_inside_tab_shows_filters_stats_and_maps_after_a_run():
    at = open_page("batchnorm")
    at.selectbox(key="bn_dataset").set_value("digits")
    at.slider(key="bn_epochs").set_value(1)
    at.run()
    at.button(key="bn_start").click().run()
    wait_for(at, lambda a: len(a.metric) >= 4)
    assert "Inside the model" in [tab.label for tab in at.tabs]
    assert "inside" not in at.session_state  # nothing computed while the tab is closed
    assert not [c for c in at.get("plotly_chart") if "inside" in c.proto.id]

    at.session_state["bn_result_tab"] = "Inside the model"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    stats = _chart(at, "bn_inside_stats")
    std = [tr for tr in stats["data"] if tr["type"] == "scatter"]
    sat = [tr for tr in stats["data"] if tr["type"] == "bar"]
    assert len(std) == 1 and len(sat) == 1
    # LeNet with BN from scratch: conv, BN, sigmoid twice, linear, BN, sigmoid twice, linear
    assert std[0]["x"] == ["conv 1", "BN 1", "sigmoid 1", "conv 2", "BN 2",
                           "sigmoid 2", "linear 3", "BN 3", "sigmoid 3", "linear 4", "BN 4",
                           "sigmoid 4", "linear 5"]
    assert sat[0]["x"] == ["sigmoid 1", "sigmoid 2", "sigmoid 3", "sigmoid 4"]
    table = at.dataframe[-1].value
    assert list(table["type"])[:3] == ["Conv2d", "BatchNorm", "Sigmoid"]
    assert (table["std"] > 0).all() and len(table) == 13
    sig = table[table["type"] == "Sigmoid"]
    assert ((sig["mean"] > 0) & (sig["mean"] < 1)).all() and sig["saturated"].between(0, 1).all()

    filters = _chart(at, "bn_inside_filters")["data"][0]
    assert filters["type"] == "heatmap"
    which = _array(filters["customdata"])
    assert which.shape == (5, 6 * 6 - 1) and which.max() == 6  # LeNet's six 5x5 filters in a row
    z = _array(filters["z"])
    assert np.isnan(z[:, 5]).all() and not np.isnan(z[:, :5]).any()  # a gap between filters

    first = _images(at)
    # the picked test image, then one image per stage: conv, BN, sigmoid, pool, twice
    assert len(first) == 1 + 8
    from test_images import decode

    assert all(img.url.startswith("data:image/png;base64,") for img in first)  # no media files
    picked = at.session_state["bn_inside_image"]
    result = next(r for r in at.session_state["bn_runs"])["result"]
    assert np.array_equal(decode(first[0].url), result.sample_images[picked])
    captions = [c.value for c in at.caption if c.value.startswith("`")]
    assert captions[0].startswith("`0` (`Conv2d`): 6 × 24 × 24")
    assert captions[-1].startswith("`7` (`MaxPool2d`): 16 × 4 × 4")

    at.selectbox(key="bn_inside_image").set_value(5).run()
    assert not at.exception
    second = _images(at)
    assert len(second) == 9 and [i.url for i in second] != [i.url for i in first]
    entry = next(iter(at.session_state["inside"].values()))
    assert set(entry["maps"]) == {0, 5} and entry["seen"] == 256


def test_inside_tab_in_chinese_has_no_english_words_left():
    from test_i18n import ZH_LINK, english_words, untranslated
    from ui.strings_zh import ZH

    at = open_page("batchnorm", lang=ZH_LINK)
    at.selectbox(key="bn_dataset").set_value("digits")
    at.slider(key="bn_epochs").set_value(1)
    at.run()
    at.button(key="bn_start").click().run()
    wait_for(at, lambda a: len(a.metric) >= 4)
    at.session_state["bn_result_tab"] = ZH["Inside the model"]
    at.run()
    assert not at.exception
    assert [c for c in at.get("plotly_chart") if c.proto.id.endswith("bn_inside_stats")]
    assert ZH["Each layer's output"] in [m.value.strip("*") for m in at.markdown]
    assert not untranslated(at), sorted(untranslated(at))
    assert not english_words(at), english_words(at)
    # a layer without a saturated or zero share: the grid writes its placeholder, not "None"
    table = at.dataframe[-1]
    assert table.value.isna().any().any() and table.proto.placeholder == "—"
