"""2D/3D registration recovers a known pose of a small synthetic CT from an offset start."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from dicom_factory import radiograph, save
from hipbmd.cli import main
from hipbmd.drr.geometry import PoseParameters
from hipbmd.drr.render import hu_to_attenuation, render
from hipbmd.registration import register
from hipbmd.types import Camera, Radiograph, Volume

SPACING_MM = 3.0


def _phantom() -> tuple[Volume, Volume]:
    """A 36³ HU volume at 3 mm: a soft-tissue ellipsoid with two 'femurs' (rods) and a 'pelvis' plate."""
    shape = (36, 36, 36)
    affine = np.diag([SPACING_MM] * 3 + [1.0])
    affine[:3, 3] = -SPACING_MM * (np.array(shape) - 1) / 2
    index = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), -1)
    x, y, z = np.moveaxis(index @ affine[:3, :3].T + affine[:3, 3], -1, 0)
    hu = np.full(shape, -1000.0, np.float32)
    labels = np.zeros(shape, np.int32)
    hu[(x / 45) ** 2 + (y / 35) ** 2 + (z / 50) ** 2 <= 1] = 40.0
    for _side, label, sign in (("right", 1, 1.0), ("left", 2, -1.0)):
        rod = ((x - sign * 20) ** 2 + (y - 3) ** 2 <= 36) & (z < 10 + sign * 4) & (z > -40)
        hu[rod], labels[rod] = 800.0, label
    plate = (np.abs(z - 22) < 5) & (np.abs(x) < 35) & (np.abs(y + 5) < 6)
    hu[plate], labels[plate] = 600.0, 3
    return Volume(hu, affine, "HU"), Volume(labels, affine, "label")


TRUTH = PoseParameters((3.0, -2.0, 4.0), (5.0, -4.0, 6.0), (0.0, 0.0, 0.0), 950.0)


def _radiograph(volume: Volume) -> Radiograph:
    camera = Camera((64, 64), (2.4, 2.4), 1100.0, pose=TRUTH.to_pose())
    image = render(hu_to_attenuation(volume), camera).images[0]
    return Radiograph(image, (2.4, 2.4), "imager", sid_mm=1100.0, sod_mm=950.0)


def _errors(estimate: PoseParameters) -> tuple[float, float]:
    rotation = np.abs(np.subtract(estimate.rotation_deg, TRUTH.rotation_deg)).max()
    translation = np.abs(np.subtract(estimate.translation_mm, TRUTH.translation_mm)).max()
    return float(rotation), float(translation)


def test_recovers_the_pose_from_an_offset_start() -> None:
    volume, _ = _phantom()
    start = PoseParameters((8.0, -6.0, -3.0), (-8.0, 6.0, 15.0), (0.0, 0.0, 0.0), 950.0)
    estimate, report = register(_radiograph(volume), volume, start, levels=(4, 2, 1))
    rotation_error, translation_error = _errors(estimate)
    assert report.converged and report.similarity > 0.99 > report.initial_similarity
    assert rotation_error < 1.0 and translation_error < 2.0
    assert [level["factor"] for level in report.levels] == [4.0, 2.0, 1.0]


def test_structure_restricted_registration(tmp_path: Path) -> None:
    volume, labels = _phantom()
    start = PoseParameters((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 950.0)
    estimate, report = register(_radiograph(volume), volume, start, labels, [1, 3], levels=(2, 1))
    rotation_error, translation_error = _errors(estimate)
    assert report.converged and rotation_error < 1.5 and translation_error < 3.0


def test_automatic_levels_follow_the_pixel_size() -> None:
    from hipbmd.registration.register import automatic_levels

    assert automatic_levels(Camera((256, 256), (1.6, 1.6), 1100.0)) == [8, 4, 2, 1]
    assert automatic_levels(Camera((2500, 2000), (0.15, 0.15), 1100.0)) == [64, 32, 16, 8]
    assert automatic_levels(Camera((64, 64), (2.4, 2.4), 1100.0)) == [4, 2, 1]


def test_register_command_writes_a_pose_for_drr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    volume, _ = _phantom()
    nib.save(nib.Nifti1Image(volume.array, volume.affine), tmp_path / "ct.nii.gz")
    image = _radiograph(volume).array
    stored = np.round(image / image.max() * 4000).astype(np.uint16)
    save(
        radiograph(
            stored,
            ImagerPixelSpacing=[2.4, 2.4],
            DistanceSourceToDetector=1100.0,
            DistanceSourceToPatient=950.0,
        ),
        tmp_path / "xray.dcm",
    )
    start = {"rotation_deg": [0, 0, 0], "translation_mm": [0, 0, 0], "isocenter_mm": [0, 0, 0], "sod_mm": 950}
    (tmp_path / "start.json").write_text(json.dumps(start))
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "hipbmd",
            "register",
            "--xray",
            str(tmp_path / "xray.dcm"),
            "--ct",
            str(tmp_path / "ct.nii.gz"),
            "--init",
            str(tmp_path / "start.json"),
            "-o",
            str(tmp_path / "pose.json"),
        ],
    )
    with pytest.raises(SystemExit) as stopped:
        main()
    record = json.loads((tmp_path / "pose.json").read_text())
    assert stopped.value.code in (0, None) and record["report"]["converged"]
    estimate = PoseParameters.from_dict(record["pose"])
    assert _errors(estimate)[0] < 1.5 and _errors(estimate)[1] < 3.0
    assert record["camera"]["shape"] == [64, 64] and record["camera"]["pixel_spacing_mm"] == [2.4, 2.4]
    # The DRR in the registered pose uses the radiograph's detector and matches it.
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "hipbmd",
            "drr",
            str(tmp_path / "ct.nii.gz"),
            "--pose",
            str(tmp_path / "pose.json"),
            "-o",
            str(tmp_path / "matched.npy"),
        ],
    )
    with pytest.raises(SystemExit):
        main()
    matched = np.load(tmp_path / "matched.npy")
    assert matched.shape == (64, 64)
    assert np.corrcoef(matched.ravel(), image.ravel())[0, 1] > 0.99


def test_interior_region_excludes_the_outline() -> None:
    from hipbmd.registration.register import _Level
    from hipbmd.registration.similarity import ncc

    moving = np.zeros((20, 20), np.float32)
    moving[2:18, 2:18] = 1.0  # body
    moving[6:14, 6:14] = 3.0  # dense interior
    camera = Camera((20, 20), (1.0, 1.0), 1000.0)
    level = _Level(moving, camera, 1, None, None, ncc, interior_fraction=0.5)  # type: ignore[arg-type]
    region = level._compared_region(moving)
    assert region is not None and region.sum() == 4 * 4  # 8×8 core eroded by 2 px on each side
    assert not region[2:6, :].any()


def test_unknown_measure_is_refused() -> None:
    volume, _ = _phantom()
    with pytest.raises(ValueError, match="unknown similarity measure 'mi'"):
        register(_radiograph(volume), volume, measure="mi")
