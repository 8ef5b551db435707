"""DenseNet on Fashion-MNIST."""

import streamlit as st

from nets.inspect import BOOK_BLOCKS
from ui.blocks import set_widgets, show_block
from ui.controls import expander_kept
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

DENSE, TRANSITION = (next(b for b in BOOK_BLOCKS if b["kind"] == k)
                     for k in ("dense", "transition"))
BOOK_VALUES = {"dn_blk_convs": DENSE["params"]["num_convs"],
               "dn_blk_in": DENSE["params"]["in_channels"],
               "dn_blk_growth": DENSE["params"]["growth"], "dn_blk_n": DENSE["input"][0],
               "dn_blk_h": DENSE["input"][2], "dn_blk_w": DENSE["input"][3],
               "dn_tr_out": TRANSITION["params"]["out_channels"]}

with expander_kept(t("One dense block and one transition layer: the book's shape experiments"),
                   "dn_blk"):
    st.markdown(t(
        "The book runs `DenseBlock(2, 3, 10)` on a random X of shape 4 × 3 × 8 × 8: each of its "
        "2 convolutions adds 10 channels to what came in, so its output Y has 3 + 2 × 10 = 23 "
        "channels and the same height and width. Then `transition_block(23, 10)` on Y: its 1 × 1 "
        "convolution takes the 23 channels to 10 and its 2 × 2 average pooling halves the height "
        "and width, to 4 × 10 × 4 × 4."))
    st.button(t("Book: {call}", call=f"`{DENSE['call']}`, `{TRANSITION['call']}`"),
              key="dn_blk_book", on_click=set_widgets, args=(BOOK_VALUES,))
    st.markdown(f"**{t('Dense block')}**")
    c = st.columns(3)
    k = c[0].number_input(t("Convolutions"), 1, 8, 2, key="dn_blk_convs", bind="query-params",
                          help=t("`num_convs`: the number of convolution blocks in the dense "
                                 "block"))
    cin = c[1].number_input(t("Input channels"), 1, 128, 3, key="dn_blk_in", bind="query-params")
    g = c[2].number_input(t("Growth rate"), 1, 64, 10, key="dn_blk_growth", bind="query-params",
                          help=t("The channels each convolution adds (the book's `out_channels`)"))
    d = st.columns(3)
    n = d[0].number_input(t("Batch size"), 1, 16, 4, key="dn_blk_n", bind="query-params")
    h = d[1].number_input(t("Height"), 1, 64, 8, key="dn_blk_h", bind="query-params")
    w = d[2].number_input(t("Width"), 1, 64, 8, key="dn_blk_w", bind="query-params")
    k, cin, g = int(k), int(cin), int(g)
    st.markdown(t("Output channels: {c} + {k} × {g} = **{out}**", c=cin, k=k, g=g,
                  out=cin + k * g))
    y = show_block("dense", {"num_convs": k, "in_channels": cin, "growth": g},
                   (int(n), cin, int(h), int(w)))
    st.markdown(f"**{t('Transition layer')}**")
    out = st.number_input(t("Output channels of the transition layer"), 1, 256, 10,
                          key="dn_tr_out", bind="query-params",
                          help=t("In the model, each transition layer halves the channels"))
    if y is None:
        st.info(t("The transition layer takes the dense block's output Y: it is shown once the "
                  "dense block works."))
    else:
        _, yc, yh, yw = y["output"]
        if show_block("transition", {"in_channels": yc, "out_channels": int(out)}, y["output"]):
            st.caption(t("Channels {a} → {b} (the 1 × 1 convolution); height and width "
                         "{h} × {w} → {h2} × {w2} (the 2 × 2 average pooling halves them, "
                         "rounding down).", a=yc, b=int(out), h=yh, w=yw, h2=yh // 2,
                         w2=yw // 2))
panel("dn_", ["densenet"], "densenet")
