"""The command line: version, info as table and JSON, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from dicom_factory import radiograph, save, write_ct_series
from hipbmd import __version__
from hipbmd.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["hipbmd", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    captured = capsys.readouterr()
    code = stopped.value.code
    return (0 if code is None else code), captured.out, captured.err


def test_version(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["--version"], capsys, monkeypatch)
    assert code == 0 and out.strip() == f"hipbmd {__version__}"


def test_help_does_not_import_the_heavy_stack() -> None:
    probe = (
        "import sys, hipbmd.cli; print(sorted(m for m in ('numpy', 'pydicom', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_info_json_on_the_real_ct(real: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = real / "totalsegmentator_example_ct" / "example_ct.nii.gz"
    code, out, _ = run(["info", "--json", str(path)], capsys, monkeypatch)
    (result,) = json.loads(out)
    raw = np.asarray(nib.load(str(path)).dataobj)
    assert code == 0 and result["kind"] == "ct" and result["orientation"] == "RAS"
    assert result["spacing_mm"] == [3.0, 3.0, 3.0]
    assert result["value_range"] == [float(raw.min()), float(raw.max())]


def test_info_json_on_the_real_jpeg2000_series(real: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = real / "totalsegmentator_example_ct_dicom" / "dicom"
    code, out, _ = run(["info", "--json", str(folder)], capsys, monkeypatch)
    (result,) = json.loads(out)
    assert code == 0 and result["shape"] == [512, 512, 20] and result["slice_count"] == 20
    assert result["source_orientation"] == "LPS" and result["slice_step_mm"] == 2.0
    assert "JPEG 2000" in result["transfer_syntax"]


def test_info_json_on_the_real_radiographs(real: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    paths = [
        real / "fodicom_cr" / "CR-MONO1-10-chest",
        real / "fodicom_cr" / "CR-ModalitySequenceLUT.dcm",
        real / "deid_data_dx" / "cat_DX.dcm.gz",
        real / "radoss_ddh_xray" / "331_DDH_1.dcm",
    ]
    code, out, err = run(["info", "--json", *map(str, paths)], capsys, monkeypatch)
    chest, panoramic, dx, infant = json.loads(out)
    assert code == 0
    assert (chest["photometric_handling"], chest["spacing_source"]) == (
        "MONOCHROME1 inverted (bone bright)",
        "unknown",
    )
    assert (panoramic["modality_lut"], panoramic["spacing_source"]) == (
        "ModalityLUTSequence",
        "imager",
    )
    assert (dx["photometric_handling"], dx["spacing_source"], dx["pixel_spacing_mm"]) == (
        "MONOCHROME2 kept (bone bright)",
        "imager",
        [0.14, 0.14],
    )
    assert infant["photometric_handling"].startswith("RGB converted to grey")
    assert "converted to grey" in err
    # the hip's geometry as the estimate uses it: no distances in the file, an assumed SID
    assert (dx["hip_geometry"]["source"], chest["hip_geometry"]["spacing_mm"]) == ("assumed", None)
    magnification = dx["hip_geometry"]["magnification"]
    assert dx["hip_geometry"]["spacing_mm"] == pytest.approx([0.14 / magnification] * 2, abs=1e-4)


def test_info_table_output(real: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["info", str(real / "fodicom_cr" / "CR-ModalitySequenceLUT.dcm")], capsys, monkeypatch)
    assert code == 0 and "spacing_source" in out and "imager" in out


def _multi_frame(tmp_path: Path) -> Path:
    ds = radiograph(np.zeros((8, 8), np.uint16), NumberOfFrames=3)
    ds.PixelData = ds.PixelData * 3
    return save(ds, tmp_path / "multi.dcm")


def _truncated(tmp_path: Path) -> Path:
    path = save(radiograph(np.zeros((64, 64), np.uint16)), tmp_path / "truncated.dcm")
    path.write_bytes(path.read_bytes()[:-2000])
    return path


def _mr_series(tmp_path: Path) -> Path:
    write_ct_series(
        tmp_path / "mr",
        np.zeros((8, 8, 3), np.uint16),
        [(0, 0, k) for k in range(3)],
        modality="MR",
    )
    return tmp_path / "mr"


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def _text(tmp_path: Path) -> Path:
    (tmp_path / "notes.dcm").write_text("this is not DICOM")
    return tmp_path / "notes.dcm"


def _volume_as_xray(tmp_path: Path) -> Path:
    nib.save(nib.Nifti1Image(np.full((4, 4, 4), -1000.0, np.float32), np.eye(4)), tmp_path / "ct.nii.gz")
    return tmp_path / "ct.nii.gz"


BAD_INPUTS = {
    "missing": (lambda t: t / "absent.dcm", ["info"], "no such file"),
    "not-dicom": (_text, ["info"], "not a DICOM file"),
    "truncated": (_truncated, ["info"], "damaged|cannot decode"),
    "mr-as-ct": (_mr_series, ["info"], "MR series, not CT"),
    "empty-folder": (_empty, ["info"], "empty folder"),
    "multi-frame": (_multi_frame, ["info"], "multi-frame"),
    "ct-as-radiograph": (_volume_as_xray, ["info", "--kind", "radiograph"], "not a radiograph"),
    "radiograph-as-ct": (_truncated, ["info", "--kind", "ct"], "radiograph (DX), not a CT"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_gives_one_line_and_exit_2(name: str, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    make, command, pattern = BAD_INPUTS[name]
    path = make(tmp_path)
    code, _, err = run([*command, str(path)], capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"hipbmd: error: {path}: ")
    assert any(p in lines[0] for p in pattern.split("|"))
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["--debug", "info", str(_text(tmp_path))], capsys, monkeypatch)
    assert code == 2 and "Traceback" in err and "not a DICOM file" in err


def test_good_and_bad_inputs_together(real: Path, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    good = real / "fodicom_cr" / "CR-MONO1-10-chest"
    code, out, err = run(["info", "--json", str(good), str(tmp_path / "absent")], capsys, monkeypatch)
    results = json.loads(out)
    assert code == 2 and results[0]["kind"] == "radiograph" and "error" in results[1]
    assert err.count("hipbmd: error:") == 1


def test_command_line_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hipbmd.cli", "info", str(tmp_path / "nope.png")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"hipbmd: error: {tmp_path / 'nope.png'}: no such file or folder"
