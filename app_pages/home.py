"""Home: what each page is for."""

import streamlit as st

from ui.i18n import t

st.title(t("D2L Lab: optimization and modern CNNs, hands on"))
st.markdown(t("Two chapters of *Dive into Deep Learning* as pages you can play with: the "
              "optimization chapter (local minima, saddle points, vanishing gradients, convexity, "
              "gradient descent, Newton's method, SGD, learning-rate schedules) and the modern-CNN "
              "chapter (batch normalization, ResNet, DenseNet), trained live on Fashion-MNIST."))

c1, c2 = st.columns(2)
with c1:
    st.subheader(t("Optimization"))
    st.page_link("app_pages/challenges.py", label=t("Optimization challenges"), icon="⛰️")
    st.caption(t("Local vs global minima, saddle points and vanishing gradients: drop a start "
                 "point and watch gradient descent stall or escape."))
    st.page_link("app_pages/convexity.py", label=t("Convexity"), icon="🥣")
    st.caption(t("Second derivatives, the secant (Jensen) test, and why local minima of convex "
                 "functions are global."))
    st.page_link("app_pages/explorer.py", label=t("Explorer"), icon="🧭")
    st.caption(t("Any function, method and learning-rate schedule; contour, surface, loss and "
                 "learning-rate plots; the table of iterates; CSV/JSON/PNG/SVG export."))
    st.page_link("app_pages/compare.py", label=t("Compare optimizers"), icon="🏁")
    st.caption(t("Several optimizers on one landscape, side by side, with playback step by step "
                 "and how many steps each needs to reach the minimum."))
with c2:
    st.subheader(t("Training"))
    st.caption(t("Batch normalization, ResNet-18 and DenseNet trained on Fashion-MNIST (or the "
                 "offline digits dataset) on CPU or GPU, with a live accuracy chart."))
    st.page_link("app_pages/batchnorm.py", label=t("Batch normalization"), icon="📊")
    st.page_link("app_pages/resnet.py", label=t("ResNet"), icon="🧱")
    st.page_link("app_pages/densenet.py", label=t("DenseNet"), icon="🕸️")
    st.page_link("app_pages/runs.py", label=t("Runs"), icon="🗂️")
    st.caption(t("Every finished run is kept: overlay the curves of any runs, download their "
                 "weights, delete the ones you do not need."))
st.info(t("Every page opens at the book's own settings, so the first view is the book's figure. "
          "Every setting is kept in the link: copy the URL to share exactly what you see. A page "
          "keeps its settings while you visit the others."))
