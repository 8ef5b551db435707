"""Batch normalization: LeNet with and without BN, BN written from scratch and nn.BatchNorm."""

import streamlit as st

from ui.i18n import t
from ui.training import panel, show_layers

st.title(t("Batch normalization"))
st.markdown(t(
    "Standardizing the inputs makes every feature have mean 0 and variance 1 over the dataset. "
    "**Batch normalization** does the same for a deep network's intermediate outputs, using the "
    "mean and variance of each minibatch, so that the values flowing through the network stay "
    "stable.\n\n"
    "- **Fully connected layers**: between the affine transform and the activation, per feature.\n"
    "- **Convolutional layers**: after the convolution and before the activation, per channel, "
    "over all m × p × q values of that channel in the batch; each channel has its own scale γ "
    "and shift β.\n"
    "- **Prediction**: training uses each batch's statistics; evaluation uses moving averages "
    "estimated during training (momentum 0.9 on the old value)."))
st.caption(t("Train LeNet without BN, then with BN (from scratch, or nn.BatchNorm): finished runs "
             "are overlaid, the chapter's point. Sigmoid LeNet without BN learns slowly."))
st.caption(t("The from-scratch BatchNorm follows the chapter's `batch_norm`, with one "
             "difference in its moving variance: it starts at 1 and takes the unbiased batch variance (÷ (m − "
             "1)), as nn.BatchNorm's does, where the chapter's code starts it at 0 and takes the "
             "biased one (÷ m). That keeps the two layers identical, so the page compares BN "
             "against no BN and not two bookkeepings. The start fades as 0.9 to the power of the "
             "steps (0.5% after 50 steps); m is the batch (times H × W for a convolution)."))
with st.expander(t("Layers of the model (output shape and parameters)")):
    model = st.session_state.get("bn_model", "lenet-bn-scratch")
    show_layers(model, 28)
panel("bn_", ["lenet", "lenet-bn-scratch", "lenet-bn"], "lenet-bn-scratch")
