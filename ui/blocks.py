"""One block of the chapter on the ResNet and DenseNet pages: the book's single-block shape
experiments (``Residual(3, 6, use_1x1conv=True, stride=2)`` on a 4 × 3 × 6 × 6 input, ...), run
through :func:`nets.inspect.inspect_block`, the function behind ``python -m nets.inspect --block``.
"""

from __future__ import annotations

from typing import Mapping

import streamlit as st

from nets.inspect import BOOK_BLOCKS, ShapeError, inspect_block

from .i18n import N_, t, t_error


@st.cache_data(show_spinner=False, max_entries=64)
def block_result(kind: str, params: tuple, shape: tuple) -> dict:
    """``{"report": inspect_block(...)}``, or ``{"error": why}`` for settings the block cannot
    take (cached: an exception would not be)."""
    try:
        return {"report": inspect_block(kind, dict(params), shape)}
    except ShapeError as exc:
        return {"error": str(exc)}


def shape_text(shape) -> str:
    return " × ".join(str(int(d)) for d in shape)


def book_output(call: str, shape) -> tuple | None:
    """The shape the book prints for this block (its call, as :func:`nets.inspect.block_call`
    writes it) and input, if they are one of its experiments."""
    for b in BOOK_BLOCKS:
        if b["call"] == call and tuple(b["input"]) == tuple(shape):
            return tuple(b["output"])
    return None


def set_widgets(values: Mapping) -> None:
    """``on_click`` of a book-example button: the widgets take the example's values."""
    for key, value in values.items():
        st.session_state[key] = value


def show_block(kind: str, params: Mapping, shape) -> dict | None:
    """Input → output shape of the block, its layers' shapes, and the book's line when these are
    its settings; for settings it cannot take, the reason (in the interface language). Returns
    the report, or None."""
    res = block_result(kind, tuple(params.items()), tuple(int(d) for d in shape))
    if "error" in res:
        st.error(t_error(res["error"]))
        return None
    r = res["report"]
    st.markdown(t("{call} on X of shape {x}: the output has shape **{y}**.", call=f"`{r['call']}`",
                  x=shape_text(r["input"]), y=shape_text(r["output"])))
    printed = book_output(r["call"], r["input"])
    if printed is not None:
        st.caption(t("The book prints: `{line}`", line=f"torch.Size({list(printed)})"))
    st.dataframe([{t(N_("layer")): row["name"], t(N_("type")): row["type"],
                   t(N_("output shape")): shape_text(row["shape"]),
                   t(N_("parameters")): row["params"]} for row in r["layers"]], hide_index=True)
    return r
