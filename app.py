"""D2L Lab: the router. Run with ``streamlit run app.py``."""

# Each session's run is a thread of one process. plotly looks for numpy, pandas and PIL in
# sys.modules without importing them, so while one session was still importing pandas, another
# found it half-made ("partially initialized module 'pandas' has no attribute 'Series'"): on a
# fresh server, 4-5 of 8 first visits at once failed. An import statement waits for a module
# that another thread is importing, and every run passes here first.
import numpy  # noqa: F401
import pandas  # noqa: F401
import PIL.Image  # noqa: F401
import streamlit as st

from ui.controls import keep_page_settings, link_notice, remember_link, reset_link
from ui.i18n import language_codes_in_link, language_picker, t
from ui.training import sidebar_status

st.set_page_config(page_title="D2L Lab", page_icon="📉", layout="wide")

PAGES = {
    "": [st.Page("app_pages/home.py", title=t("Home"), icon="🏠", default=True, url_path="home")],
    t("Optimization"): [
        st.Page("app_pages/challenges.py", title=t("Optimization challenges"), icon="⛰️",
                url_path="challenges"),
        st.Page("app_pages/convexity.py", title=t("Convexity"), icon="🥣", url_path="convexity"),
        st.Page("app_pages/explorer.py", title=t("Explorer"), icon="🧭", url_path="explorer"),
        st.Page("app_pages/compare.py", title=t("Compare optimizers"), icon="🏁", url_path="compare"),
    ],
    t("Training"): [
        st.Page("app_pages/batchnorm.py", title=t("Batch normalization"), icon="📊",
                url_path="batchnorm"),
        st.Page("app_pages/resnet.py", title=t("ResNet"), icon="🧱", url_path="resnet"),
        st.Page("app_pages/densenet.py", title=t("DenseNet"), icon="🕸️", url_path="densenet"),
        st.Page("app_pages/runs.py", title=t("Runs"), icon="🗂️", url_path="runs"),
    ],
}
page = st.navigation({k: v for k, v in PAGES.items() if v}, position="sidebar", expanded=True)
language_codes_in_link(page)
remember_link()
language_picker()
keep_page_settings(page)
sidebar_status()
page.run()
if page.url_path in {p.url_path for p in PAGES[t("Optimization")]}:
    reset_link(page)
link_notice()
