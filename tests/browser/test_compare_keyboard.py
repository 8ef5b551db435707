"""The compare page's Playback tab from the keyboard (review 16): plotly draws its play button and
step slider as SVG that no key reaches, so the tab's step is a Streamlit slider. From the tab
list, Tab reaches it, ArrowRight steps the big dots and the link keeps the step; plotly's Play
(for a mouse) runs on from the step shown. The step-to-redraw time is printed, not asserted."""

from __future__ import annotations

import numpy as np

import st_browser as sb

FOCUSED_KEY = """() => {
  const box = document.activeElement && document.activeElement.closest('[class*="st-key-"]');
  const key = box && [...box.classList].find(c => c.startsWith('st-key-'));
  return key ? key.slice('st-key-'.length) : null;
}"""


def big_dots(page) -> dict:
    """Where each optimizer is at the step shown: the playback figure's last trace."""
    dots = sb.plot(page, "cmp_playback")[-1]
    assert dots["mode"] == "markers", dots
    return dots


def expected_at(step: int) -> np.ndarray:
    """The page's default runs (the ill-conditioned quadratic's line-up) at ``step``: (lanes, 2)."""
    from optim import get_function
    from optim.compare import compare, lineup

    steps, lanes = lineup("ill")
    obj = get_function("ill", kappa=10.0)
    runs = compare(obj, [lane.entry(steps) for lane in lanes[:3]], (-4.5, 1.5), steps)
    return np.array([tr.xs[step] for _, tr in runs])


def test_tab_reaches_the_step_slider_and_arrow_right_steps_the_playback(st_page):
    st_page.open("compare?cmp_view=Playback")
    page = st_page.page
    sb.wait_chart(page, "cmp_playback")
    start = big_dots(page)
    np.testing.assert_allclose(start["x"], expected_at(0)[:, 0])
    # the optimizers' cards are as tall as each other, with or without an expander of parameters
    heights = [sb.widget(page, f"cmp{i}_card").bounding_box()["height"] for i in (1, 2, 3)]
    assert max(heights) - min(heights) < 1, heights
    # keyboard only, from the open tab (where the review's Tab presses arrived)
    page.locator('[role="tab"][aria-selected="true"]').focus()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_KEY) == "cmp_step":
            break
    assert page.evaluate(FOCUSED_KEY) == "cmp_step", "Tab never reached the step slider"
    for step in (1, 2):
        before = sb.fingerprint(page, "cmp_playback")
        page.keyboard.press("ArrowRight")
        sb.wait_redrawn(page, "cmp_playback", before)
        dots = big_dots(page)
        np.testing.assert_allclose(np.c_[dots["x"], dots["y"]], expected_at(step), rtol=1e-5,
                                   atol=1e-6)
    assert "cmp_step=2" in page.url, page.url
    assert page.evaluate(FOCUSED_KEY) == "cmp_step"  # focus stays for the next press
    ms = sb.slider_step_latency(page, "cmp_step", "cmp_playback", reps=6)  # back to step 2
    print(f"playback step to redrawn chart: {sb.summarize(ms)}")
    # plotly's Play, for a mouse, goes on from the step shown (not back to step 0)
    page.evaluate("""() => {
        const gd = document.querySelector('.st-key-cmp_playback .js-plotly-plot');
        window.__frames = [];
        gd.on('plotly_animatingframe', e => window.__frames.push(e.name));
    }""")
    page.locator(".st-key-cmp_playback .updatemenu-button").first.click()
    page.wait_for_function("window.__frames.length >= 2")
    assert page.evaluate("window.__frames.slice(0, 2)") == ["3", "4"]
    # the step, set in the tab's fragment (whose reruns skip the app's router and so
    # ui.controls.keep_page_settings; Streamlit itself keeps it), is still there after a trip to
    # another page
    for label in ("Explorer", "Compare optimizers"):
        page.locator('[data-testid="stSidebarNavLink"]', has_text=label).click()
        page.wait_for_function("() => (document.querySelector('h1') || {innerText: ''})"
                               f".innerText.includes({label.split()[0]!r})")
        sb.wait_idle(page)
    sb.wait_chart(page, "cmp_playback")
    assert sb.slider_input(page, "cmp_step").input_value() == "2"
    assert "cmp_step=2" in page.evaluate("location.search")
    st_page.assert_clean()
