"""`hipbmd drr` / api.drr on the real CT: outputs, units, labels, pose files, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hipbmd import api
from hipbmd.cli import main
from hipbmd.drr.project_ct import DRRRequest
from hipbmd.io.label_tables import load_label_table, resolve_labels


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["hipbmd", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    return int(stopped.value.code or 0)


def _ct(real: Path) -> Path:
    return real / "totalsegmentator_example_ct" / "example_ct.nii.gz"


def test_ap_png_of_the_real_ct(real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _run(
        ["drr", str(_ct(real)), "--size", "64", "64", "--spacing-mm", "6", "-o", str(tmp_path / "ap.png")],
        monkeypatch,
    )
    sidecar = json.loads((tmp_path / "ap.json").read_text())
    picture = np.asarray(Image.open(tmp_path / "ap.png"))
    assert code == 0 and picture.shape == (64, 64) and picture.dtype == np.uint16
    assert sidecar["unit"] == "1" and sidecar["png_full_scale"] == pytest.approx(sidecar["value_range"][1])
    # Air above the shoulders is dark; the body is bright and its values are physical (mu*l of a few).
    assert 2.0 < sidecar["value_range"][1] < 10.0


def test_femur_only_npy_sits_on_the_viewers_left(real: Path, tmp_path: Path) -> None:
    folder = real / "totalsegmentator_example_ct"
    request = DRRRequest(
        ct=_ct(real),
        labels=folder / "example_seg_v1.nii.gz",
        label=["femur_right", "88"],
        label_table="totalsegmentator_v1",
        per_label=True,
        size=(48, 96),
        spacing_mm=(4.0, 4.0),
    )
    isocenter = tuple(float(v) for v in (0.0, 140.0, 110.0))
    request.isocenter_mm = isocenter
    record = api.drr(request, tmp_path / "femurs.npy")
    images = np.load(tmp_path / "femurs.npy")
    right, left = images
    assert record["label_values"] == [89, 88] and images.shape == (2, 48, 96)
    columns = np.arange(96)
    assert (columns * right.sum(0)).sum() / right.sum() < 48 < (columns * left.sum(0)).sum() / left.sum()


def test_pose_file_from_register_output(real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pose = {
        "pose": {
            "rotation_deg": [0, 0, 90],
            "translation_mm": [0, 0, 0],
            "isocenter_mm": [0, 150, 200],
            "sod_mm": 900,
        }
    }
    (tmp_path / "pose.json").write_text(json.dumps(pose))
    code = _run(
        [
            "drr",
            str(_ct(real)),
            "--pose",
            str(tmp_path / "pose.json"),
            "--size",
            "32",
            "32",
            "--spacing-mm",
            "8",
            "-o",
            str(tmp_path / "lateral.nii.gz"),
        ],
        monkeypatch,
    )
    sidecar = json.loads((tmp_path / "lateral.json").read_text())
    assert code == 0 and sidecar["pose"]["rotation_deg"] == [0.0, 0.0, 90.0]
    assert (tmp_path / "lateral.nii.gz").exists()


def test_parallel_density_projection_gives_g_per_cm2(tmp_path: Path) -> None:
    import nibabel as nib

    density = np.zeros((20, 20, 20), np.float32)
    density[5:15, 5:15, 5:15] = 1000.0  # mg/cm³, 10 mm thick
    nib.save(nib.Nifti1Image(density, np.eye(4)), tmp_path / "density.nii.gz")
    request = DRRRequest(
        ct=tmp_path / "density.nii.gz",
        input_unit="mg/cm3",
        size=(20, 20),
        parallel=True,
        isocenter_mm=(9.5, 9.5, 9.5),
    )
    record = api.drr(request, tmp_path / "abmd.npy")
    image = np.load(tmp_path / "abmd.npy")
    assert record["unit"] == "g/cm2"
    assert image.max() == pytest.approx(1.0, rel=1e-5)  # 1000 mg/cm³ × 10 mm = 1 g/cm²


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label", "femur_right"], "needs --label-table"),
        (["--label", "89"], "--label needs --labels"),
        (["-o", "out.gif"], "unsupported output"),
    ],
)
def test_drr_errors(real: Path, tmp_path: Path, monkeypatch, capsys, extra: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    args = ["drr", str(_ct(real)), "-o", str(tmp_path / "out.png"), *extra]
    if extra[0] == "-o":
        args = ["drr", str(_ct(real)), "-o", str(tmp_path / extra[1])]
    code = _run(args, monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_label_tables() -> None:
    assert load_label_table("totalsegmentator_v1")["femur_right"] == 89
    assert load_label_table("totalsegmentator_v2")["femur_right"] == 76
    assert resolve_labels(["femur_left", "3"], "totalsegmentator_v2") == [75, 3]


def test_missing_label_value_and_resampling_warning(real: Path, tmp_path: Path) -> None:
    import nibabel as nib

    folder = real / "totalsegmentator_example_ct"
    with pytest.raises(ValueError, match=r"label value\(s\) \[7777\] not present"):
        api.drr(
            DRRRequest(ct=_ct(real), labels=folder / "example_seg_v1.nii.gz", label=["7777"], size=(8, 8)),
            tmp_path / "none.npy",
        )
    labels = nib.load(str(folder / "example_seg_v1.nii.gz"))
    shifted = labels.affine.copy()
    shifted[0, 3] += 1.0  # one millimetre off the CT grid: resampled, with a warning
    nib.save(nib.Nifti1Image(np.asarray(labels.dataobj), shifted), tmp_path / "shifted.nii.gz")
    record = api.drr(
        DRRRequest(
            ct=_ct(real),
            labels=tmp_path / "shifted.nii.gz",
            label=["89"],
            size=(16, 16),
            spacing_mm=(4.0, 4.0),
        ),
        tmp_path / "femur.npy",
    )
    assert any("resampled" in message for message in record["warnings"])
    assert json.loads((tmp_path / "femur.json").read_text())["warnings"] == record["warnings"]
