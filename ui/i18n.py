"""English / Chinese interface text.

Pages write their text in English through ``t("...")``; :data:`ZH` maps each English string to
Chinese. ``tests/test_i18n.py`` scans every page for ``t()`` literals and fails on any string
without a translation, so a page can never show an untranslated key.
"""

from __future__ import annotations

import re
import string

import streamlit as st

from .strings_zh import ERRORS_ZH, NOTES_ZH, PARTS_ZH, ZH

_NOTES_ZH = [(re.compile(rx), zh) for rx, zh in NOTES_ZH]
_ERRORS_ZH = [(re.compile(rx), zh) for rx, zh in ERRORS_ZH]

LANGUAGES = {"en": "English", "zh": "中文"}
CODES = {name: code for code, name in LANGUAGES.items()}


def lang() -> str:
    """The interface language's code: "en" or "zh"."""
    # the link's before the picker is first made (the pages' titles in the sidebar are named
    # before it)
    return CODES.get(st.session_state.get("lang", st.query_params.get("lang")), "en")


def t(text: str, **fmt) -> str:
    out = ZH.get(text, text) if lang() == "zh" else text
    return out.format(**fmt) if fmt else out


def colon() -> str:
    """The colon between a name and what follows it: "：" in Chinese text, ": " in English."""
    return "：" if lang() == "zh" else ": "


def bracketed(text: str) -> str:
    """A note in brackets after a name: "（η=0.1）" in Chinese (full-width, no space), " (η=0.1)"
    in English."""
    return f"（{text}）" if lang() == "zh" else f" ({text})"


def list_sep() -> str:
    """The separator of a list of numbers or names in running text: "、" in Chinese, ", " in
    English."""
    return "、" if lang() == "zh" else ", "


def sentences(*parts: str) -> str:
    """Sentences one after another: a space between them in English, none after a Chinese
    full stop."""
    return ("" if lang() == "zh" else " ").join(p for p in parts if p)


def t_note(note: str) -> str:
    """A note from a run's history (English, written by nets/) in the interface language."""
    if lang() == "zh":
        for rx, zh in _NOTES_ZH:
            m = rx.fullmatch(note)
            if m:
                return zh.format(*m.groups())
    return note


class _Untranslatable(Exception):
    pass


class _ErrorFormatter(string.Formatter):
    """Fills an ERRORS_ZH template: ``!t`` a word of PARTS_ZH, ``!l`` a list, ``!e`` a message
    (must translate), ``!o`` a message where it can (else kept)."""

    def convert_field(self, value, conversion):
        if conversion == "t":
            if value not in PARTS_ZH:
                raise _Untranslatable(value)
            return PARTS_ZH[value]
        if conversion == "l":
            return "、".join(value.split(", "))
        if conversion in ("e", "o"):
            out = _error_zh(value)
            if out is None and conversion == "e":
                raise _Untranslatable(value)
            return value if out is None else out
        return super().convert_field(value, conversion)


def _error_zh(message: str) -> str | None:
    for rx, zh in _ERRORS_ZH:
        m = rx.fullmatch(message)
        if m:
            try:
                return _ErrorFormatter().format(zh, **m.groupdict())
            except _Untranslatable:
                continue
    return None


def t_error(message: str) -> str:
    """A message raised by a library (an expression the explorer cannot compile, a training
    setting TrainConfig.validate refuses; English, as the command line shows it) in the interface
    language. A message no pattern of ERRORS_ZH matches is shown as it is."""
    if lang() == "zh":
        out = _error_zh(str(message))
        if out is not None:
            return out
    return str(message)


def plot_labels() -> dict[str, str]:
    """The texts of optim.plots' figures (axis titles, hover, the runaway note) in the interface
    language, keyed as :data:`optim.plots.LABELS`."""
    return {
        "step t": t("step t"),
        "f(x_t)": t("f(x_t)"),
        "f(x_t) − f(x*)": t("f(x_t) − f(x*)"),
        "step": t("step {k}"),
        "ran away": t("ran away: off the plot after step {k} of {n}"),
        "diverged": t("ran away: off the plot after step {k}, diverged at step {n}"),
        "many": t("{m} paths ran away: off the plot at the arrows (hover an arrow for its step)"),
        "pick": t("click: start here"),
    }


def risk_labels() -> dict[str, str]:
    """The texts of optim.plots.risk_figure in the interface language: :func:`plot_labels` and
    the keys of :data:`optim.plots.RISK_LABELS`."""
    return {**plot_labels(), "risk": t("risk f(x)"), "empirical": t("empirical risk g(x)"),
            "min risk": t("min of risk"), "min empirical": t("min of empirical risk"),
            "axis": t("risk")}


def taylor_labels() -> dict[str, str]:
    """The texts of optim.analysis_plot.taylor_figure in the interface language."""
    return {"step t": t("step t"), "ratio": t("actual ÷ predicted change of f"),
            "down": t("f went down"), "up": t("f went up"),
            "exact": t("first-order prediction exact"),
            "hover": t("step {t}: f changed by {a}, the first-order prediction {p}")}


def sweep_labels(constant: bool = True, param: str = "eta") -> dict[str, str]:
    """The texts of optim.sweep's figure in the interface language (:data:`optim.sweep.LABELS`);
    under a decaying schedule the η slider sets the initial η₀; ``param`` "gamma": the slider
    sets momentum's γ, and the line marks the best γ at the sidebar's η."""
    if param == "gamma":
        return {**sweep_labels(), "η": "γ = ",
                "final": t("γ: where each run ends after {n} steps"),
                "critical": t("best γ at this η")}
    if not constant:
        return {**sweep_labels(), "η": t("η₀ = "),
                "final": t("initial η₀: where each run ends after {n} steps")}
    return {
        **plot_labels(),
        "f(x_t) − f(x*)": "f(x_t) − f(x*)",  # math only: a translated title outgrew the small panel
        "η": t("η = "),
        "final": t("η: where each run ends after {n} steps"),
        "end gap": t("f(x_n) − f(x*)"),
        "end f": t("f(x_n)"),
        "diverged at": t("diverged at step {k}"),
        "left at": t("left the view at step {k}"),
        "singular at": t("singular at step {k}"),
        "below": t("below f(x*)"),
        "critical": t("critical η"),
    }


def relabel(key: str) -> None:
    """Before a keyed select whose option labels are translated (a ``format_func`` in the
    interface language) is made: a keyed widget is the same widget in either language, and after
    a switch the browser went on showing the old language's label ('Adam' on the Chinese page).
    Setting its value again here sends it to the browser with the new label."""
    ss, seen = st.session_state, f"_{key}_lang"
    if key in ss and ss.get(seen, lang()) != lang():
        ss[key] = ss[key]
    ss[seen] = lang()


def N_(text: str) -> str:
    """Mark a string for translation where it is defined (data tables); ``t()`` it when shown."""
    return text


def language_picker() -> None:
    """The sidebar switch; bound to the URL (?lang=中文) so a shared link keeps the language.

    The options are the languages' own names, not codes: a bound widget writes what it shows into
    the URL, so with codes plus a format_func the link would read ``?lang=中文`` while the value is
    ``zh``, and the link check (ui.controls.link_notice) would call the link's value unusable.
    """
    st.sidebar.segmented_control(
        "Language / 语言", options=list(CODES), key="lang", default=LANGUAGES["en"],
        required=True, bind="query-params", persist_state="session")


def language_codes_in_link(page) -> None:
    """Call after ``st.navigation`` (``page``: the page it chose) and before
    :func:`language_picker`: a link with a language's code (``?lang=zh``, ``?lang=en``,
    ``?lang=zh-CN``: what people type) opens in that language. The picker, bound to the URL,
    knows only the languages' names and dropped a code with a "could not be used" notice. Only
    in a session's first run, before the picker is made (after that the parameter is the
    picker's and cannot be set): the page opens again with the name in the link."""
    code = st.query_params.get("lang")
    if "lang" in st.session_state or code is None or code in CODES:
        return
    code = code.strip().lower().replace("_", "-").split("-")[0]
    if code in LANGUAGES:
        query = {k: st.query_params.get_all(k) for k in st.query_params}
        st.switch_page(page, query_params={**query, "lang": LANGUAGES[code]})
