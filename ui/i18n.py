"""English / Chinese interface text.

Pages write their text in English through ``t("...")``; :data:`ZH` maps each English string to
Chinese. ``tests/test_i18n.py`` scans every page for ``t()`` literals and fails on any string
without a translation, so a page can never show an untranslated key.
"""

from __future__ import annotations

import streamlit as st

from .strings_zh import ZH

LANGUAGES = {"en": "English", "zh": "中文"}


def lang() -> str:
    value = st.session_state.get("lang", "en")
    return value if value in LANGUAGES else "en"


def t(text: str, **fmt) -> str:
    out = ZH.get(text, text) if lang() == "zh" else text
    return out.format(**fmt) if fmt else out


def N_(text: str) -> str:
    """Mark a string for translation where it is defined (data tables); ``t()`` it when shown."""
    return text


def language_picker() -> None:
    """The sidebar switch; bound to the URL (?lang=zh) so a shared link keeps the language."""
    st.sidebar.segmented_control(
        "Language / 语言", options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang",
        default="en", required=True, bind="query-params", persist_state="session")
