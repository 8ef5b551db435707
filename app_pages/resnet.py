"""ResNet-18 on Fashion-MNIST."""

import streamlit as st

from nets.inspect import BOOK_BLOCKS
from ui.blocks import set_widgets, show_block
from ui.controls import expander_kept
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


def _book_values(b: dict) -> dict:
    """The block section's widget values for one of the book's residual blocks."""
    p, (n, _, h, w) = b["params"], b["input"]
    return {"rn_blk_in": p["in_channels"], "rn_blk_out": p["out_channels"],
            "rn_blk_1x1": p.get("use_1x1conv", False), "rn_blk_stride": p.get("stride", 1),
            "rn_blk_n": n, "rn_blk_h": h, "rn_blk_w": w}


with expander_kept(t("One residual block: the book's shape experiments"), "rn_blk"):
    st.markdown(t(
        "The book runs a single residual block on a random X of shape 4 × 3 × 6 × 6. "
        "`Residual(3, 3)` keeps the shape. `Residual(3, 6, use_1x1conv=True, stride=2)` doubles "
        "the channels and halves the height and width; the block ends with Y + X, so the "
        "shortcut X must take the shape of the block's output Y, which is the job of the 1 × 1 "
        "convolution (with the same stride). Change the settings and see what comes out, or why "
        "it cannot work."))
    book = [b for b in BOOK_BLOCKS if b["kind"] == "residual"]
    cols = st.columns(len(book))
    for i, b in enumerate(book):
        cols[i].button(t("Book: {call}", call=f"`{b['call']}`"), key=f"rn_blk_book{i + 1}",
                       on_click=set_widgets, args=(_book_values(b),))
    c = st.columns(4)
    cin = c[0].number_input(t("Input channels"), 1, 128, 3, key="rn_blk_in", bind="query-params")
    cout = c[1].number_input(t("Output channels"), 1, 128, 3, key="rn_blk_out",
                             bind="query-params")
    stride = c[2].number_input(t("Stride"), 1, 8, 1, key="rn_blk_stride", bind="query-params")
    use_1x1 = c[3].toggle(t("1 × 1 convolution on the shortcut"), False, key="rn_blk_1x1",
                          bind="query-params",
                          help=t("`use_1x1conv=True`: a 1 × 1 convolution with the block's stride "
                                 "turns the shortcut X into the shape of the output Y"))
    d = st.columns(3)
    n = d[0].number_input(t("Batch size"), 1, 16, 4, key="rn_blk_n", bind="query-params")
    h = d[1].number_input(t("Height"), 1, 64, 6, key="rn_blk_h", bind="query-params")
    w = d[2].number_input(t("Width"), 1, 64, 6, key="rn_blk_w", bind="query-params")
    show_block("residual", {"in_channels": int(cin), "out_channels": int(cout),
                            "use_1x1conv": bool(use_1x1), "stride": int(stride)},
               (int(n), int(cin), int(h), int(w)))
panel("rn_", ["resnet18"], "resnet18")
