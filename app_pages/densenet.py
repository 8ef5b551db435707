"""DenseNet on Fashion-MNIST."""

import streamlit as st

from ui.i18n import t
from ui.training import panel, show_layers

st.title(t("Densely connected networks (DenseNet)"))
st.markdown(t(
    "Where ResNet **adds** a block's input to its output, DenseNet **concatenates** them on the "
    "channel axis, so every layer sees the outputs of all the layers before it.\n\n"
    "- A **dense block** is a chain of convolution blocks (batch norm, ReLU, 3 × 3 convolution); "
    "each adds `growth` new channels (32 here) to what came in: 4 convolutions take 64 channels "
    "to 64 + 4 × 32 = 192.\n"
    "- A **transition layer** (batch norm, ReLU, 1 × 1 convolution, 2 × 2 average pooling) "
    "halves the channels and the height and width, so the model does not grow too large.\n\n"
    "The model: the same stem as ResNet, four dense blocks of 4 convolutions with transition "
    "layers between them, then batch norm, ReLU, global pooling and a fully connected layer."))
with st.expander(t("Layers of the model (output shape and parameters)")):
    s = st.select_slider(t("Input size for the table"), [96, 224], 96, key="dn_inspect_size")
    show_layers("densenet", s)
panel("dn_", ["densenet"], "densenet")
