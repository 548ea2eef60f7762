"""DICOM radiographs: modality LUT, MONOCHROME1, codecs, spacing semantics, tags, bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForProcessing,
    JPEG2000Lossless,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from dicom_factory import ct_slice, modality_lut_sequence, radiograph, save
from hipbmd.errors import InputError
from hipbmd.io import read_radiograph

RAMP = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 4096


def _read(tmp_path: Path, name: str = "x.dcm", compress: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
    stored = kwargs.pop("stored", RAMP)
    return read_radiograph(save(radiograph(stored, **kwargs), tmp_path / name, compress=compress))


def test_monochrome2_is_kept_and_window_is_recorded_not_applied(tmp_path: Path) -> None:
    image = _read(tmp_path, WindowCenter=100, WindowWidth=50)
    assert np.array_equal(image.array, RAMP.astype(np.float32))
    assert image.meta["photometric_handling"] == "MONOCHROME2 kept (bone bright)"
    assert image.meta["window_center"] == [100.0] and image.meta["voi_applied"] is False


def test_monochrome1_is_inverted_over_the_stored_range(tmp_path: Path) -> None:
    image = _read(tmp_path, photometric="MONOCHROME1", bits_stored=12)
    assert np.array_equal(image.array, 4095.0 - RAMP)
    assert "MONOCHROME1 inverted" in image.meta["photometric_handling"]


def test_rescale_slope_intercept_is_applied(tmp_path: Path) -> None:
    image = _read(tmp_path, RescaleSlope=2.0, RescaleIntercept=-10.0, RescaleType="US")
    assert np.array_equal(image.array, 2.0 * RAMP - 10.0)
    assert image.meta["modality_lut"] == "RescaleSlopeIntercept"


def test_modality_lut_sequence_then_monochrome1_inversion(tmp_path: Path) -> None:
    stored = (np.arange(16, dtype=np.uint16).reshape(4, 4)) % 8
    table = np.array([400, 900, 1000, 800, 700, 600, 500, 300])  # not monotonic; range 300..1000
    image = _read(
        tmp_path,
        stored=stored,
        bits_stored=3,
        photometric="MONOCHROME1",
        ModalityLUTSequence=modality_lut_sequence(table.tolist()),
    )
    assert image.meta["modality_lut"] == "ModalityLUTSequence"
    assert np.array_equal(image.array, 300.0 + 1000.0 - table[stored])


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, RLELossless], ids=["jpeg2000", "rle"])
def test_compressed_radiographs_decode_exactly(tmp_path: Path, syntax: str) -> None:
    image = _read(tmp_path, compress=syntax)
    assert np.array_equal(image.array, RAMP.astype(np.float32))
    assert image.meta["transfer_syntax"] == syntax.name


def test_no_spacing_at_all_is_unknown(tmp_path: Path) -> None:
    image = _read(tmp_path)
    assert image.spacing_source == "unknown" and image.pixel_spacing_mm is None
    assert image.object_spacing_mm is None


def test_imager_pixel_spacing_only(tmp_path: Path) -> None:
    image = _read(tmp_path, ImagerPixelSpacing=[0.139, 0.14])
    assert image.spacing_source == "imager" and image.pixel_spacing_mm == (0.139, 0.14)


def test_uncalibrated_pixel_spacing_is_taken_as_detector_spacing(tmp_path: Path) -> None:
    image = _read(tmp_path, PixelSpacing=[0.2, 0.2])
    assert image.spacing_source == "pixel" and image.pixel_spacing_mm == (0.2, 0.2)


def test_calibrated_pixel_spacing_is_at_the_patient_plane(tmp_path: Path) -> None:
    image = _read(
        tmp_path,
        PixelSpacing=[0.12, 0.12],
        PixelSpacingCalibrationType="GEOMETRY",
        EstimatedRadiographicMagnificationFactor=1.25,
    )
    assert image.spacing_source == "calibrated"
    assert image.calibrated_spacing_mm == (0.12, 0.12) == image.object_spacing_mm
    assert image.pixel_spacing_mm == pytest.approx((0.15, 0.15))


def test_calibrated_spacing_beside_imager_spacing(tmp_path: Path) -> None:
    image = _read(
        tmp_path,
        ImagerPixelSpacing=[0.15, 0.15],
        PixelSpacing=[0.125, 0.125],
        PixelSpacingCalibrationType="FIDUCIAL",
    )
    assert image.spacing_source == "calibrated"
    assert image.pixel_spacing_mm == (0.15, 0.15) and image.object_spacing_mm == (0.125, 0.125)


def test_magnification_from_ermf_wins_over_sid_sod(tmp_path: Path) -> None:
    image = _read(
        tmp_path,
        ImagerPixelSpacing=[0.15, 0.15],
        DistanceSourceToDetector=1150.0,
        DistanceSourceToPatient=1000.0,
        EstimatedRadiographicMagnificationFactor=1.2,
    )
    assert (image.sid_mm, image.sod_mm, image.magnification) == (1150.0, 1000.0, 1.2)
    assert image.object_spacing_mm == pytest.approx((0.125, 0.125))


def test_magnification_from_sid_and_sod(tmp_path: Path) -> None:
    image = _read(
        tmp_path,
        ImagerPixelSpacing=[0.15, 0.15],
        DistanceSourceToDetector=1150.0,
        DistanceSourceToPatient=1000.0,
    )
    assert image.magnification == pytest.approx(1.15)
    assert image.meta["magnification_source"].startswith("DistanceSourceToDetector")
    assert image.object_spacing_mm == pytest.approx((0.15 / 1.15, 0.15 / 1.15))


def test_log_intensity_relationship_presentation_and_patient_tags(tmp_path: Path) -> None:
    image = _read(
        tmp_path,
        sop_class=DigitalXRayImageStorageForProcessing,
        PixelIntensityRelationship="LOG",
        PixelIntensityRelationshipSign=-1,
        ViewPosition="AP",
        ImageLaterality="L",
        PatientAge="067Y",
        PatientSex="F",
    )
    assert image.meta["pixel_intensity_relationship"] == "LOG"
    assert image.meta["pixel_intensity_relationship_sign"] == -1
    assert image.presentation == "FOR PROCESSING"
    assert (image.view, image.laterality, image.age_years, image.sex) == ("AP", "left", 67.0, "F")


def test_stated_presentation_intent_and_age_from_dates(tmp_path: Path) -> None:
    image = _read(
        tmp_path,
        sop_class=ComputedRadiographyImageStorage,
        modality="CR",
        PresentationIntentType="FOR PRESENTATION",
        PatientBirthDate="19500101",
        StudyDate="20200101",
        Laterality="R",
    )
    assert image.presentation == "FOR PRESENTATION"
    assert image.age_years == pytest.approx(70.0, abs=0.01)
    assert image.laterality == "right"


def test_secondary_capture_rgb_becomes_grey_with_a_warning(tmp_path: Path) -> None:
    ds = radiograph(RAMP, modality="OT", sop_class=SecondaryCaptureImageStorage)
    rgb = np.stack([RAMP % 256] * 3, axis=-1).astype(np.uint8)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = rgb.tobytes()
    with pytest.warns(UserWarning, match="converted to grey"):
        image = read_radiograph(save(ds, tmp_path / "sc.dcm"))
    assert np.allclose(image.array, RAMP % 256, atol=1e-3)


def test_file_without_preamble_and_gzip_wrapped_file(tmp_path: Path) -> None:
    bare = save(radiograph(RAMP), tmp_path / "bare", preamble=False)
    assert bare.read_bytes()[128:132] != b"DICM"
    image = read_radiograph(bare)
    assert image.meta["has_preamble"] is False and np.array_equal(image.array, RAMP)
    packed = tmp_path / "x.dcm.gz"
    packed.write_bytes(gzip.compress(save(radiograph(RAMP), tmp_path / "y.dcm").read_bytes()))
    assert np.array_equal(read_radiograph(packed).array, RAMP)


def test_spacing_given_by_the_user_overrides_the_file(tmp_path: Path) -> None:
    image = read_radiograph(
        save(radiograph(RAMP, ImagerPixelSpacing=[0.1, 0.1]), tmp_path / "a.dcm"), spacing_mm=0.2
    )
    assert image.spacing_source == "assumed" and image.pixel_spacing_mm == (0.2, 0.2)
    assert "overridden" in image.meta["notes"][-1]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.write_text("plain text, not DICOM"), p)[1], "not a DICOM file"),
        (lambda p: p.parent, "is a folder"),
    ],
    ids=["missing", "not-dicom", "folder"],
)
def test_unusable_paths(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        read_radiograph(make(tmp_path / "input.dcm"))


def test_truncated_radiograph_names_the_file(tmp_path: Path) -> None:
    path = save(radiograph(RAMP), tmp_path / "cut.dcm")
    path.write_bytes(path.read_bytes()[:-3000])
    with pytest.raises(InputError, match=r"cut\.dcm: .*(damaged|cannot decode)"):
        read_radiograph(path)


def test_multi_frame_and_ct_inputs_are_refused(tmp_path: Path) -> None:
    ds = radiograph(RAMP, NumberOfFrames=2)
    ds.PixelData = ds.PixelData * 2
    with pytest.raises(InputError, match="multi-frame"):
        read_radiograph(save(ds, tmp_path / "cine.dcm"))
    with pytest.raises(InputError, match="is a CT image, not a radiograph"):
        read_radiograph(save(ct_slice(RAMP, (0, 0, 0)), tmp_path / "ct.dcm"))
    (tmp_path / "ct.nii.gz").write_bytes(b"")
    with pytest.raises(InputError, match="volume file"):
        read_radiograph(tmp_path / "ct.nii.gz")


def test_real_cr_without_preamble(real: Path) -> None:
    image = read_radiograph(real / "fodicom_cr" / "CR-MONO1-10-chest")
    assert image.meta["has_preamble"] is False
    assert image.meta["photometric_handling"] == "MONOCHROME1 inverted (bone bright)"
    assert image.spacing_source == "unknown" and image.shape == (440, 440)


def test_real_cr_with_modality_lut_sequence(real: Path) -> None:
    image = read_radiograph(real / "fodicom_cr" / "CR-ModalitySequenceLUT.dcm")
    assert image.meta["modality_lut"] == "ModalityLUTSequence"
    assert image.meta["photometric_handling"] == "MONOCHROME1 inverted (bone bright)"
    assert image.spacing_source == "imager" and image.pixel_spacing_mm == (0.15, 0.15)


def test_real_dx_flat_panel(real: Path) -> None:
    image = read_radiograph(real / "deid_data_dx" / "cat_DX.dcm.gz")
    assert image.shape == (2614, 3072)
    assert image.spacing_source == "imager" and image.pixel_spacing_mm == (0.14, 0.14)
    assert image.presentation == "FOR PRESENTATION"
    assert image.meta["photometric_handling"] == "MONOCHROME2 kept (bone bright)"
    assert image.meta["pixel_intensity_relationship"] == "LIN"
    assert image.array.min() >= 0 and image.array.max() <= 4095


@pytest.mark.parametrize("case", ["331_DDH_1", "331_DDH_10", "331_DDH_115"])
def test_real_rgb_infant_pelvis(real: Path, case: str) -> None:
    with pytest.warns(UserWarning, match="converted to grey"):
        image = read_radiograph(real / "radoss_ddh_xray" / f"{case}.dcm")
    assert image.shape == (331, 331)
    assert image.spacing_source == "pixel"
    assert any("placeholder" in note for note in image.meta["notes"])


def test_patient_orientation_is_recorded_and_a_mirrored_image_noted(tmp_path: Path) -> None:
    usual = _read(tmp_path, "ap.dcm", PatientOrientation=["L", "F"])
    mirrored = _read(tmp_path, "mirrored.dcm", PatientOrientation=["R", "F"])
    assert usual.meta["patient_orientation"] == ["L", "F"] and usual.meta["notes"] == []
    assert any("mirrored" in note for note in mirrored.meta["notes"])


@pytest.mark.parametrize(
    ("attributes", "detector", "magnification"),
    [
        # calibrated only: the patient plane is all there is
        ({"PixelSpacing": [0.125, 0.125], "PixelSpacingCalibrationType": "GEOMETRY"}, 0.125, 1.0),
        # calibrated beside the imager's spacing, nothing else: their ratio
        (
            {
                "ImagerPixelSpacing": [0.15, 0.15],
                "PixelSpacing": [0.125, 0.125],
                "PixelSpacingCalibrationType": "FIDUCIAL",
            },
            0.15,
            1.2,
        ),
        # calibrated beside an ERMF that disagrees: the calibration is the patient plane
        (
            {
                "ImagerPixelSpacing": [0.15, 0.15],
                "PixelSpacing": [0.125, 0.125],
                "PixelSpacingCalibrationType": "FIDUCIAL",
                "EstimatedRadiographicMagnificationFactor": 1.087,
            },
            0.15,
            1.2,
        ),
        # calibrated with ERMF and no imager spacing: detector = calibrated x ERMF
        (
            {
                "PixelSpacing": [0.125, 0.125],
                "PixelSpacingCalibrationType": "GEOMETRY",
                "EstimatedRadiographicMagnificationFactor": 1.2,
            },
            0.15,
            1.2,
        ),
    ],
)
def test_a_calibrated_spacing_sets_the_scale_the_crop_uses(
    tmp_path: Path, attributes: dict[str, object], detector: float, magnification: float
) -> None:
    from hipbmd.io.radiograph_geometry import radiograph_geometry

    image = _read(tmp_path, **attributes)
    geometry = radiograph_geometry(image)
    used, flags = geometry.magnification, geometry.flags
    assert image.pixel_spacing_mm == pytest.approx((detector, detector))
    assert used == pytest.approx(magnification) and not flags
    assert image.pixel_spacing_mm[0] / used == pytest.approx(0.125)  # the patient plane, as calibrated
