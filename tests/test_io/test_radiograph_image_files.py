"""Plain image files (PNG, JPEG, TIFF) as radiographs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hipbmd.errors import InputError
from hipbmd.io import read_radiograph

GREY16 = np.arange(40 * 30, dtype=np.uint16).reshape(40, 30) * 50


def test_sixteen_bit_png_keeps_values_and_has_unknown_spacing(tmp_path: Path) -> None:
    Image.fromarray(GREY16).save(tmp_path / "hip.png")
    image = read_radiograph(tmp_path / "hip.png")
    assert np.array_equal(image.array, GREY16)
    assert image.spacing_source == "unknown" and image.pixel_spacing_mm is None


def test_spacing_option_makes_it_assumed(tmp_path: Path) -> None:
    Image.fromarray(GREY16).save(tmp_path / "hip.tif")
    image = read_radiograph(tmp_path / "hip.tif", spacing_mm=0.175)
    assert image.spacing_source == "assumed" and image.pixel_spacing_mm == (0.175, 0.175)


def test_rgb_jpeg_becomes_grey_with_a_warning(tmp_path: Path) -> None:
    grey = (np.arange(32 * 32).reshape(32, 32) % 200).astype(np.uint8)
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "hip.jpg", quality=100)
    with pytest.warns(UserWarning, match="converted to grey"):
        image = read_radiograph(tmp_path / "hip.jpg")
    assert image.shape == (32, 32)
    assert np.abs(image.array - grey).mean() < 2.0  # JPEG is lossy even at quality 100


def test_multi_page_tiff_is_refused(tmp_path: Path) -> None:
    pages = [Image.fromarray(GREY16), Image.fromarray(GREY16)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(InputError, match="multi-page image"):
        read_radiograph(tmp_path / "stack.tif")


def test_truncated_png_names_the_file(tmp_path: Path) -> None:
    Image.fromarray(GREY16).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.png: cannot read image"):
        read_radiograph(tmp_path / "cut.png")


@pytest.mark.parametrize("mode", ["P", "CMYK", "LA"])
def test_palette_cmyk_and_alpha_images_read_as_displayed(tmp_path: Path, mode: str) -> None:
    grey = (np.arange(32 * 32).reshape(32, 32) % 250).astype(np.uint8)
    picture = Image.fromarray(np.stack([grey] * 3, axis=-1)).convert(mode)
    suffix = ".tif" if mode == "CMYK" else ".png"
    picture.save(tmp_path / f"hip{suffix}")
    displayed = np.asarray(picture.convert("L"), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = read_radiograph(tmp_path / f"hip{suffix}")
    assert image.shape == (32, 32)
    assert np.corrcoef(image.array.ravel(), displayed.ravel())[0, 1] > 0.99
