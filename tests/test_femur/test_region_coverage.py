"""A region whose bone runs off the radiograph is flagged, or not measured, by the share beyond the edge."""

from __future__ import annotations

import femur_drr_phantom as phantom
import numpy as np
import pytest

from hipbmd.bmd.interval_calibration import Z_95
from hipbmd.bmd.reference import NHANES_III, t_reference
from hipbmd.bmd.region_coverage import (
    OFF_IMAGE_LIMIT,
    PARTLY_OFF_LIMIT,
    invented_share_half_width_g_cm2,
    off_image_shares,
    on_image_mask,
    region_off_image,
    region_partly_off_image,
)
from hipbmd.femur.measure_2d import FemurBMD, measure_femur_drr
from hipbmd.frames import Affine2D
from hipbmd.io.exposed_field import ExposedField

REGIONS = ("neck", "total_hip")
IDENTITY = Affine2D.scale_shift((1.0, 1.0), (0.0, 0.0))


def _on_image(to_image: Affine2D, femur: FemurBMD, image_shape: tuple[int, int]) -> np.ndarray:
    return on_image_mask(to_image, femur.bone.shape, image_shape)


@pytest.fixture(scope="module")
def femur_bmd() -> FemurBMD:
    femur = phantom.femur()
    result = measure_femur_drr(femur.image_g_cm2, femur.spacing_mm, "right")
    assert result.ok and result.rois is not None
    return result


def test_a_region_inside_the_image_has_nothing_beyond_its_edge(femur_bmd: FemurBMD) -> None:
    shape = femur_bmd.bone.shape
    shares = off_image_shares(femur_bmd, _on_image(IDENTITY, femur_bmd, shape), REGIONS)
    assert shares == {"neck": 0.0, "total_hip": 0.0}
    assert region_off_image(shares) is None and region_partly_off_image(shares) is None


@pytest.mark.parametrize("cut_fraction", [0.1, 0.3, 0.6])
def test_the_share_beyond_a_lower_edge_is_the_share_of_bone_rows_below_it(
    femur_bmd, cut_fraction: float
) -> None:
    assert femur_bmd.rois is not None
    bone_rows = np.argwhere(femur_bmd.rois.masks["total_hip"] & femur_bmd.bone)[:, 0]
    cut_row = int(np.quantile(bone_rows, 1.0 - cut_fraction))
    image_shape = (cut_row, femur_bmd.bone.shape[1])  # the image ends at that row
    shares = off_image_shares(femur_bmd, _on_image(IDENTITY, femur_bmd, image_shape), REGIONS)
    expected = float(np.mean(bone_rows > cut_row - 0.5))
    assert shares["total_hip"] == pytest.approx(expected)
    assert shares["total_hip"] == pytest.approx(cut_fraction, abs=0.03)
    assert region_partly_off_image(shares) is not None
    assert (region_off_image(shares) is not None) == (shares["total_hip"] > OFF_IMAGE_LIMIT)


def test_a_shifted_crop_moves_the_regions_off_a_lateral_edge(femur_bmd: FemurBMD) -> None:
    assert femur_bmd.rois is not None
    cols = np.argwhere(femur_bmd.rois.masks["total_hip"] & femur_bmd.bone)[:, 1]
    shift = -(float(cols.min()) + 0.25 * float(np.ptp(cols)))  # a quarter of its width left of column 0
    to_image = Affine2D.scale_shift((1.0, 1.0), (0.0, shift))
    shares = off_image_shares(femur_bmd, _on_image(to_image, femur_bmd, femur_bmd.bone.shape), REGIONS)
    assert PARTLY_OFF_LIMIT < shares["total_hip"] < 1.0
    flag = region_partly_off_image(shares)
    assert flag is not None and flag.startswith("region_partly_off_image: ")


def test_the_on_image_mask_follows_the_crop_into_the_image() -> None:
    # crop pixels of 2 image pixels, its (0, 0) at image pixel (10, -3): columns 0-1 fall left of the image
    to_image = Affine2D.scale_shift((2.0, 2.0), (10.0, -3.0))
    mask = on_image_mask(to_image, (8, 8), (20, 10))
    rows, cols = np.indices((8, 8))
    image_row, image_col = 10.0 + 2.0 * rows, -3.0 + 2.0 * cols
    expected = (image_row <= 19.5) & (image_col >= -0.5) & (image_col <= 9.5)
    np.testing.assert_array_equal(mask, expected)
    assert mask[0, 2] and mask[4, 6] and not mask[0, 1] and not mask[5, 4] and not mask[0, 7]


def test_crop_pixels_on_a_fill_are_off_the_image() -> None:
    to_image = Affine2D.scale_shift((1.0, 1.0), (0.0, 0.0))
    fill = np.zeros((20, 10), dtype=bool)
    fill[:, 7:] = True  # a shutter over the last three columns
    mask = on_image_mask(to_image, (8, 12), ExposedField((20, 10), fill))
    assert mask[:, :7].all() and not mask[:, 7:].any()


def test_the_invented_share_widens_the_interval_by_the_population_sd() -> None:
    neck_sd = t_reference("neck", NHANES_III)
    assert neck_sd is not None
    assert invented_share_half_width_g_cm2(0.0, "neck") == 0.0
    assert invented_share_half_width_g_cm2(1.0, "neck") == pytest.approx(Z_95 * neck_sd.sd_g_cm2)
    assert invented_share_half_width_g_cm2(0.3, "neck") == pytest.approx(0.3 * Z_95 * neck_sd.sd_g_cm2)
