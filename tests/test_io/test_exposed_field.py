"""The exposed field: flat fills from the edge found to the pixel; air beside the body and implants kept."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from hipbmd.io.exposed_field import exposed_field


def _anatomy(shape: tuple[int, int] = (200, 160)) -> np.ndarray:
    """A noiseless body over air (100): bright tissue with structure, its outline curving from row to
    row with a soft edge, air flat beyond it."""
    rows, cols = np.indices(shape, dtype=np.float64)
    half_width = 0.3 * shape[1] * (1.0 + 0.2 * np.sin(rows / 30.0))
    body = 1.0 / (1.0 + np.exp(-(half_width - np.abs(cols - shape[1] / 2)) / 3.0))
    texture = 0.3 * np.sin(rows / 7.0) * np.cos(cols / 5.0)
    return (100.0 + 900.0 * np.where(body > 0.01, body, 0.0) * (1.0 + texture)).astype(np.float32)


def test_an_image_without_a_fill_is_whole() -> None:
    field = exposed_field(_anatomy())
    assert field.whole and field.outside_share == 0.0
    assert field.contains([[0.0, 0.0], [199.4, 159.4]]).all()
    assert not field.contains([[-0.6, 0.0], [0.0, 159.6]]).any()


def test_flat_air_beside_the_body_is_not_a_fill() -> None:
    image = _anatomy()  # noiseless air at both sides, flat, running into the body without a step
    assert np.all(image[:, 0] == 100.0) and np.all(image[:, -1] == 100.0)
    assert exposed_field(image).whole


@pytest.mark.parametrize("value", [0.0, 5000.0])
def test_a_black_or_white_border_is_found_to_the_pixel(value: float) -> None:
    image = _anatomy()
    image[:12], image[-7:], image[:, :45], image[:, -40:] = value, value, value, value
    field = exposed_field(image)
    expected = np.ones(image.shape, dtype=bool)
    expected[12:193, 45:120] = False
    assert field.outside is not None
    np.testing.assert_array_equal(field.outside, expected)
    assert "border_masked" in field.describe()


def test_the_corners_of_a_turned_image_are_a_fill() -> None:
    image = ndimage.rotate(_anatomy((300, 300)) + 200.0, 12.0, reshape=False, order=1, cval=0.0)
    field = exposed_field(image)
    assert field.outside is not None
    assert field.outside[0, 0] and field.outside[-1, -1] and field.outside[0, -1] and field.outside[-1, 0]
    assert not field.outside[150, 150] and not field.outside[20, 150]  # the middle of the top edge
    fill = image == 0.0
    assert not np.any(field.outside & ~fill)  # nothing of the image
    assert (field.outside & fill).sum() >= 0.97 * fill.sum()  # all but the thinnest tips of the corners


def test_an_implant_and_a_burnt_in_block_away_from_the_edge_stay_image() -> None:
    image = _anatomy()
    image[80:140, 70:85] = 5000.0  # a flat metal stem on a noiseless image
    image[190:200, 100:106] = 5000.0  # the stem's end reaching the edge along 6 of 160 columns
    assert exposed_field(image).whole


def test_a_fill_that_would_leave_almost_nothing_is_not_believed() -> None:
    image = _anatomy()
    image[:, :75], image[:, -75:] = 0.0, 0.0  # 10 of 160 columns left: not a radiograph's field
    assert exposed_field(image).whole
