"""Finishing a stored radiograph: equalisation, collimation, burned-in marks, and the exported file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hipbmd.io.dicom_dx import DXAcquisition
from hipbmd.io.radiograph import read_radiograph
from hipbmd.sim.finishing import annotation_mask, finish, write_radiograph_file
from hipbmd.sim.random_style import Finishing

SPACING = (0.5, 0.5)
TOP = 2**12 - 1


def _image(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    ramp = np.linspace(0.2, 0.8, 200, dtype=np.float32)[None, :] * np.ones((160, 1), np.float32)
    return np.round((ramp + rng.normal(0, 0.02, ramp.shape)).clip(0, 1) * TOP).astype(np.float32)


@pytest.mark.parametrize("white", [False, True])
def test_collimation_covers_the_margins_in_millimetres(rng: np.random.Generator, white: bool) -> None:
    finishing = Finishing(collimation_mm=(10.0, 5.0, 20.0, 0.0), collimation_white=white)
    out = finish(_image(rng), finishing, 12, SPACING)
    border = TOP if white else 0.0
    assert np.all(out[:20] == border) and np.all(out[-10:] == border) and np.all(out[:, :40] == border)
    inside = out[20:-10, 40:]
    assert np.all(inside > 0) and np.all(inside < TOP)


def test_marker_text_and_ruler_are_burned_in_white_where_expected(rng: np.random.Generator) -> None:
    finishing = Finishing(side_marker="R", text_lines=2, ruler=True)
    mask = annotation_mask((400, 500), finishing, SPACING)
    out = finish(np.full((400, 500), 100.0, np.float32), finishing, 12, SPACING)
    assert np.array_equal(out == TOP, mask)
    rows, cols = np.nonzero(mask[:100])
    assert cols[rows < 80].min() < 100  # the R on the image's left, the patient's right
    ruler_row = mask[400 - 30]
    ruler = np.nonzero(ruler_row)[0]
    assert (ruler.max() - ruler.min()) * SPACING[1] == pytest.approx(100.0, abs=2.0)
    assert not annotation_mask((400, 500), Finishing(), SPACING).any()


def test_adaptive_equalisation_spreads_the_grey_levels(rng: np.random.Generator) -> None:
    image = _image(rng)
    out = finish(image, Finishing(equalisation_clip=0.02), 12, SPACING)
    assert out.min() >= 0 and out.max() <= TOP
    assert np.std(out) > np.std(image)


@pytest.mark.parametrize(("export", "name"), [("png", "xray.png"), ("jpeg", "xray.jpg")])
def test_exports_carry_no_spacing(tmp_path: Path, rng: np.random.Generator, export: str, name: str) -> None:
    image = _image(rng)
    acquisition = DXAcquisition(SPACING, 1100.0, 1040.0, bits_stored=12)
    path = write_radiograph_file(image, tmp_path, acquisition, Finishing(export=export), "case")  # type: ignore[arg-type]
    assert path.name == name and not list(tmp_path.glob("*.partial"))
    radiograph = read_radiograph(path)
    assert radiograph.pixel_spacing_mm is None and radiograph.shape == image.shape
    correlation = np.corrcoef(radiograph.array.ravel(), image.ravel())[0, 1]
    assert correlation > 0.98
