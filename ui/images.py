"""Images for ``st.image`` as ``data:`` URLs, not Streamlit media files.

Streamlit serves an array given to ``st.image`` from its media file manager, and a full rerun
that another rerun interrupts before it draws the image again still collects the "orphaned"
files at its end: the images the browser was still fetching were gone (404s and broken images
after a training run ended, or a slider was dragged over a result; CI, sessions 19 and 20). A
``data:`` URL travels in the element itself, so there is no file to lose. The images here are
small (a 28 x 28 test image is under 1 kB as a PNG; an activation-map grid a few tens of kB).
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def png_url(image: np.ndarray) -> str:
    """A grey (H, W) or colour (H, W, 3) image as a PNG ``data:`` URL. uint8 is taken as it is;
    floats are taken as 0..1 and clipped there (what ``st.image(..., clamp=True)`` does)."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float64), 0.0, 1.0) * 255).round().astype(np.uint8)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3):
        raise ValueError(f"an image is (H, W) or (H, W, 3), got shape {a.shape}")
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
