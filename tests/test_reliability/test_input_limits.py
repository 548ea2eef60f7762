"""Sizes and headers that would cost memory, or change a result, are handled before any work."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hipbmd.bmd.record_parts import EstimateOptions
from hipbmd.errors import InputRefusedError
from hipbmd.io import dicom_file
from hipbmd.io.input_digest import radiograph_digest
from hipbmd.io.radiograph import read_radiograph
from hipbmd.types import Radiograph


def test_a_plain_image_too_large_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.new("L", (12_000, 70)).save(path)
    with pytest.raises(InputRefusedError, match="70 x 12000 pixels"):
        read_radiograph(path, 0.2)


def test_a_gzip_bomb_is_refused_before_it_is_unzipped_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dicom_file, "MAX_GUNZIPPED_BYTES", 1 << 20)
    path = tmp_path / "bomb.dcm.gz"
    path.write_bytes(gzip.compress(bytes(8 << 20)))  # 8 MB of zeros in a few kB
    with pytest.raises(InputRefusedError, match="unzips to more than 1 MB"):
        read_radiograph(path)


def test_a_corrected_header_changes_the_digest() -> None:
    image = Radiograph(np.ones((8, 8), np.float32), (0.2, 0.2), "imager", age_years=70.0)
    base = radiograph_digest(image)
    assert radiograph_digest(replace(image, pixel_spacing_mm=(0.15, 0.15))) != base
    assert radiograph_digest(replace(image, age_years=17.0)) != base
    assert radiograph_digest(replace(image, meta={"sop_instance_uid": "1.2.3"})) != base
    assert radiograph_digest(replace(image)) == base


def test_options_given_as_lists_compare_equal_to_their_json() -> None:
    options = EstimateOptions(center_mm=[120.5, 98.0])  # type: ignore[arg-type]
    assert EstimateOptions.from_dict(options.to_dict()) == options


def test_the_drr_refuses_an_infinite_spacing(tmp_path: Path) -> None:
    from hipbmd import api

    request = api.DRRRequest(ct=tmp_path / "ct.nii.gz")
    with pytest.raises(ValueError, match="--spacing-mm must be a positive finite number"):
        api.drr(request, tmp_path / "out.png", detector=api.DetectorChoice(spacing_mm=float("inf")))
