"""ResNet-18 on Fashion-MNIST."""

import streamlit as st

from ui.i18n import t
from ui.training import panel, show_layers

st.title(t("Residual networks (ResNet)"))
st.markdown(t(
    "Past a certain depth, adding layers to a plain CNN stops helping: training converges more "
    "slowly and accuracy gets worse. A **residual block** learns f(x) − x instead of f(x): its "
    "input skips over two 3 × 3 convolutions (each followed by batch normalization) and is "
    "added back before the last ReLU, so a block can fall back to the identity easily. When the "
    "block halves the height and width or changes the channels, a 1 × 1 convolution with stride "
    "2 reshapes the shortcut.\n\n"
    "ResNet-18: a 7 × 7 convolution with 64 channels, batch normalization and 3 × 3 max pooling, "
    "then four modules of two residual blocks (64, 128, 256, 512 channels; each later module "
    "halves height and width), global average pooling and a fully connected layer."))
with st.expander(t("Layers of the model (output shape and parameters)")):
    s = st.select_slider(t("Input size for the table"), [96, 224], 224, key="rn_inspect_size")
    show_layers("resnet18", s)
panel("rn_", ["resnet18"], "resnet18")
