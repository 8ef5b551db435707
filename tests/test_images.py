"""ui.images: the PNG data: URLs the training pages show their images as."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from ui.images import png_url

PREFIX = "data:image/png;base64,"


def decode(url: str) -> np.ndarray:
    """A ``data:image/png;base64,`` URL's pixels (what the browser shows)."""
    assert url.startswith(PREFIX), url[:40]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url[len(PREFIX):]))))


def test_uint8_grey_and_colour_come_back_exactly():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    colour = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(decode(png_url(grey)), grey)
    assert np.array_equal(decode(png_url(colour)), colour)
    assert np.array_equal(decode(png_url(grey[..., None])), grey)  # (H, W, 1) is grey


def test_floats_are_clamped_to_0_1():
    a = np.array([[-0.5, 0.0, 0.5], [1.0, 2.0, 0.25]])
    assert decode(png_url(a)).tolist() == [[0, 0, 128], [255, 255, 64]]


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4, 5)])
def test_a_shape_that_is_no_image_is_refused(shape):
    with pytest.raises(ValueError, match="an image is"):
        png_url(np.zeros(shape, dtype=np.uint8))
