"""Rod finding: blobs on an analytic disc, rows with gaps, and the rods of simulated phantoms.

Rods must come out at the simulator's positions (within one voxel) in the phantom's order, whatever the
phantom, the row's direction, its place under the body, the rods' size and the CT's resolution.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from calibration_ct import BACK_Y_MM, Scan, reversed_phantom, rod_positions_mm, scan

from hipbmd.calibration import calibrate_with_phantom, load_phantom
from hipbmd.calibration.blobs import find_blobs
from hipbmd.calibration.row import best_row
from hipbmd.errors import InputError
from hipbmd.io.ct import read_ct
from hipbmd.sim.phantom_rods import RodLayout


def test_a_disc_is_one_blob_with_its_contrast_and_radius() -> None:
    i, j = np.meshgrid(np.arange(80), np.arange(60), indexing="ij")
    disc = np.where(np.hypot(i - 40.3, j - 29.6) <= 8.0, 120.0, 0.0)
    blobs = find_blobs(disc, (1.0, 1.0), np.geomspace(3.0, 15.0, 15), 8.0)
    assert len(blobs) == 1
    (blob,) = blobs
    assert (blob.i, blob.j) == pytest.approx((40.3, 29.6), abs=0.5)
    assert blob.radius_mm == pytest.approx(8.0, rel=0.15)
    assert blob.contrast_hu == pytest.approx(120.0, rel=0.15)


def test_a_row_is_completed_across_a_missing_point_and_ignores_strays() -> None:
    row_points = [(10.0 + 30.0 * k, 5.0 + 2.0 * k) for k in (0, 1, 3, 4)]  # slot 2 missing
    strays = [(50.0, 80.0), (-40.0, -30.0)]
    row = best_row(np.array(row_points + strays), [6.0] * 6, 5, 3, 1.0)
    assert row is not None
    assert row.members == (0, 1, 2, 3) and row.slots == (0, 1, 3, 4)
    np.testing.assert_allclose(row.slot_mm(2), (70.0, 9.0), atol=1e-9)


def _assert_rods_at_truth(found: Scan, phantom_name: str, order: list[int] | None = None) -> None:
    assert found.slab is not None
    calibration = calibrate_with_phantom(found.ct, load_phantom(phantom_name), "test CT")
    truth = rod_positions_mm(found.slab)[order or slice(None)]
    measured = np.array([(rod.x_mm, rod.y_mm) for rod in calibration.rods])
    voxel = found.ct.spacing_mm[0]
    assert np.hypot(*(measured - truth).T).max() < voxel
    assert calibration.r is not None and calibration.r > 0.999


def test_rods_are_found_where_the_simulator_put_them(bmas_scan: Scan, mindways_scan: Scan) -> None:
    _assert_rods_at_truth(bmas_scan, "B-MAS 200")
    _assert_rods_at_truth(mindways_scan, "Mindways Model 3 CT")
    _assert_rods_at_truth(scan("QRM-BDC 6-rod", scanner="ct_c"), "QRM-BDC 6-rod")


def test_a_phantom_lying_the_other_way_round_is_read_in_its_own_order() -> None:
    flipped = scan(reversed_phantom(load_phantom("B-MAS 200")))
    _assert_rods_at_truth(flipped, "B-MAS 200", order=[4, 3, 2, 1, 0])


@pytest.mark.parametrize(
    "layout",
    [
        RodLayout(top_y_mm=-91.0, centre_x_mm=60.0, rod_radius_mm=3.0, rod_spacing_mm=20.0),
        RodLayout(
            top_y_mm=-91.0, centre_x_mm=-50.0, rod_radius_mm=12.0, rod_spacing_mm=40.0, block_height_mm=40.0
        ),
    ],
    ids=["small rods, patient's right", "large rods, patient's left"],
)
def test_rods_of_any_size_on_either_side(layout: RodLayout) -> None:
    _assert_rods_at_truth(scan("B-MAS 200", layout), "B-MAS 200")


def test_rods_are_found_at_3_mm_resolution() -> None:
    _assert_rods_at_truth(scan("QRM-BDC 6-rod", scanner="ct_c", voxel_mm=3.0), "QRM-BDC 6-rod")


def test_the_phantom_is_identified_when_not_named() -> None:
    calibration = calibrate_with_phantom(scan("Mindways Model 3 CT", scanner="ct_e").ct)
    assert calibration.phantom == "Mindways Model 3 CT"
    assert any("identified automatically" in flag for flag in calibration.flags)


def test_the_real_ct_has_no_phantom(real: Path) -> None:
    """Anatomy of a real abdomen–pelvis CT must not pass for a phantom."""
    path = real / "totalsegmentator_example_ct" / "example_ct.nii.gz"
    with pytest.raises(InputError, match="calibration phantom not found"):
        calibrate_with_phantom(read_ct(path), source=str(path))


def test_a_ct_without_phantom_is_refused() -> None:
    with pytest.raises(InputError, match="calibration phantom not found") as refused:
        calibrate_with_phantom(scan(None).ct, load_phantom("B-MAS 200"), "patient.nii.gz")
    assert str(refused.value).startswith("patient.nii.gz: ")


def test_a_longer_row_of_anatomy_does_not_hide_the_phantom(bmas_scan: Scan) -> None:
    """Six alike blobs in a row inside the body (more than B-MAS 200's five rods) fit no phantom: the
    phantom's row, found next, calibrates."""
    volume = bmas_scan.ct
    i, j = np.meshgrid(*(np.arange(n) for n in volume.shape[:2]), indexing="ij")
    x_mm = volume.affine[0, 0] * i + volume.affine[0, 1] * j + volume.affine[0, 3]
    y_mm = volume.affine[1, 0] * i + volume.affine[1, 1] * j + volume.affine[1, 3]
    decoy = volume.array.copy()
    for centre_x in np.arange(-125.0, 126.0, 50.0):  # six "vessels" of +120 HU, 6 mm radius, 50 mm apart
        decoy[np.hypot(x_mm - centre_x, y_mm + 40.0) <= 6.0] += 120.0
    calibration = calibrate_with_phantom(dataclasses.replace(volume, array=decoy))
    assert calibration.phantom.startswith("B-MAS 200")
    assert calibration.r is not None and calibration.r > 0.999
    assert all(rod.y_mm < BACK_Y_MM for rod in calibration.rods)
