"""What happens to a stored radiograph after the vendor's processing, and the file it leaves the site as.

:func:`finish` works on the bone-bright stored image (integers 0 … 2^bits − 1 as float32):

1. adaptive histogram equalisation (contrast-limited, tiles of about 1/8 of the image), if the style
   asks for it;
2. collimation: the margins outside the collimated field black (an electronic shutter) or white (left
   unexposed as stored);
3. burned-in annotations, white: the lead side marker (R near the patient's right, i.e. the image's
   left, L near the image's right), lines of text in the top corner opposite the marker, a ruler with
   1 cm ticks along the bottom edge. Sizes are in millimetres at the detector.

:func:`write_radiograph_file` writes a DICOM DX (``xray.dcm``), or a PNG (``xray.png``, 8 or 16 bits) or JPEG
(``xray.jpg``, 8 bits) export of the displayed image, which carries no spacing at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from skimage.exposure import equalize_adapthist

from hipbmd.io.dicom_dx import DXAcquisition, write_dx
from hipbmd.sim.random_style import Finishing

Image = npt.NDArray[np.float32]

MARKER_HEIGHT_MM = 18.0
TEXT_HEIGHT_MM = 6.0
RULER_LENGTH_MM = 100.0
TEXT_LINES = ("RANDOMISED SITE", "AP 2024-01-01", "kVp mAs")


def finish(image: Image, finishing: Finishing, bits_stored: int, spacing_mm: tuple[float, float]) -> Image:
    """The image after equalisation, collimation and burned-in annotations (same value range)."""
    top = float(2**bits_stored - 1)
    out = np.asarray(image, dtype=np.float32)
    if finishing.equalisation_clip is not None:
        out = _equalised(out, top, finishing.equalisation_clip)
    out = _collimated(out, finishing, spacing_mm, top)
    annotations = annotation_mask(out.shape, finishing, spacing_mm)
    out = np.where(annotations, np.float32(top), out)
    return np.asarray(out, dtype=np.float32)


def _equalised(image: Image, top: float, clip_limit: float) -> Image:
    kernel = max(8, min(image.shape) // 8)
    unit = equalize_adapthist(np.clip(image / top, 0.0, 1.0), kernel_size=kernel, clip_limit=clip_limit)
    return np.asarray(np.round(unit * top), dtype=np.float32)


def _collimated(image: Image, finishing: Finishing, spacing_mm: tuple[float, float], top: float) -> Image:
    top_mm, bottom_mm, left_mm, right_mm = finishing.collimation_mm
    rows, cols = image.shape
    inside = np.zeros(image.shape, dtype=bool)
    first_row, last_row = round(top_mm / spacing_mm[0]), rows - round(bottom_mm / spacing_mm[0])
    first_col, last_col = round(left_mm / spacing_mm[1]), cols - round(right_mm / spacing_mm[1])
    inside[first_row:last_row, first_col:last_col] = True
    border = np.float32(top if finishing.collimation_white else 0.0)
    return np.where(inside, image, border).astype(np.float32)


def annotation_mask(
    shape: tuple[int, int], finishing: Finishing, spacing_mm: tuple[float, float]
) -> npt.NDArray[np.bool_]:
    """Pixels covered by the burned-in marker, text and ruler."""
    canvas = PILImage.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    pitch = float(np.sqrt(spacing_mm[0] * spacing_mm[1]))
    margin = round(15.0 / pitch)
    marker_left = finishing.side_marker != "L"
    if finishing.side_marker is not None:
        font = ImageFont.load_default(size=max(8, round(MARKER_HEIGHT_MM / pitch)))
        x = margin if marker_left else shape[1] - margin - round(MARKER_HEIGHT_MM / pitch)
        draw.text((x, margin), finishing.side_marker, fill=255, font=font)
    if finishing.text_lines:
        font = ImageFont.load_default(size=max(6, round(TEXT_HEIGHT_MM / pitch)))
        x = shape[1] // 2 + margin if marker_left else margin
        for line, text in enumerate(TEXT_LINES[: finishing.text_lines]):
            draw.text((x, margin + round(line * 1.5 * TEXT_HEIGHT_MM / pitch)), text, fill=255, font=font)
    if finishing.ruler:
        _draw_ruler(draw, shape, spacing_mm[1], margin)
    return np.asarray(canvas) > 127


def _draw_ruler(
    draw: ImageDraw.ImageDraw, shape: tuple[int, int], col_spacing_mm: float, margin: int
) -> None:
    """A 10 cm ruler along the bottom edge: a line with 1 cm ticks (longer every 5 cm)."""
    row = shape[0] - margin
    start = margin
    length = round(RULER_LENGTH_MM / col_spacing_mm)
    width = max(1, round(0.6 / col_spacing_mm))
    draw.line([(start, row), (start + length, row)], fill=255, width=width)
    for cm in range(11):
        x = start + round(cm * 10.0 / col_spacing_mm)
        tick = round((6.0 if cm % 5 == 0 else 3.0) / col_spacing_mm)
        draw.line([(x, row - tick), (x, row)], fill=255, width=width)


def write_radiograph_file(
    image: Image, folder: Path, acquisition: DXAcquisition, finishing: Finishing, patient_id: str
) -> Path:
    """Write the radiograph as the site hands it over; returns the file written."""
    if finishing.export == "dicom":
        return write_dx(image, folder / "xray.dcm", acquisition, patient_id=patient_id)
    top = float(2**acquisition.bits_stored - 1)
    unit = np.clip(np.asarray(image, dtype=np.float64) / top, 0.0, 1.0)
    if finishing.export == "png":
        path, bits = folder / "xray.png", finishing.export_bits
        pixels = np.round(unit * (2**bits - 1)).astype(np.uint16 if bits == 16 else np.uint8)
        picture = PILImage.fromarray(pixels)
        options: dict[str, int] = {}
    else:
        path = folder / "xray.jpg"
        picture = PILImage.fromarray(np.round(unit * 255.0).astype(np.uint8))
        options = {"quality": finishing.jpeg_quality}
    partial = path.with_name(path.name + ".partial")
    picture.save(partial, format="PNG" if finishing.export == "png" else "JPEG", **options)
    os.replace(partial, path)
    return path
