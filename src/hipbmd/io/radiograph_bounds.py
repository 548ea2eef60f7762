"""The bounds a radiograph must keep before hipbmd spends memory and time on it.

Every size derived from a header is checked before anything is allocated from it, so a wrong header
cannot drive a run into gigabytes. A file outside the bounds is refused with its reason
(:class:`~hipbmd.errors.InputRefusedError`): ``hipbmd estimate`` records ``refused: <reason>`` for it and
goes on with the next file.

The bounds:

* **Rows and columns**: at most :data:`MAX_PIXELS_PER_SIDE` (10 000) each, checked on the header before
  the pixels are decoded; at least :data:`MIN_PIXELS_PER_SIDE` (64) each.
* **Pixel spacing at the detector**: 0.05–2.0 mm (:data:`SPACING_RANGE_MM`). Digital radiography
  detectors and CR plates have 0.1–0.2 mm pixels; exports down-sampled for viewing or teaching reach
  1–2 mm (the decomposition model's own grid is 1.25 mm in the patient plane, about 1.4 mm at the
  detector). Outside this range the header is wrong (a spacing in cm, or in µm) and every length would
  be.
* **Field of view**: at least :data:`MIN_FIELD_MM` (100 mm) along each axis: less cannot hold a
  proximal femur.
* **Pixel values**: all finite, and not all equal (an empty or blank image; a Rescale Slope of 0).

The localiser's working grid and the model crops are bounded through these: the working grid is at most
(10 000 × 2.0 mm / its pitch) pixels a side, and a crop is the model's grid (a few hundred pixels).
"""

from __future__ import annotations

import numpy as np

from hipbmd.errors import InputRefusedError
from hipbmd.types import Radiograph

MAX_PIXELS_PER_SIDE = 10_000
MIN_PIXELS_PER_SIDE = 64
SPACING_RANGE_MM = (0.05, 2.0)
MIN_FIELD_MM = 100.0


def check_header_size(rows: int, columns: int, source: str) -> None:
    """Refuse a header whose image size is out of bounds, before its pixels are decoded."""
    if rows > MAX_PIXELS_PER_SIDE or columns > MAX_PIXELS_PER_SIDE:
        raise InputRefusedError(source, f"{rows} x {columns} pixels, more than {MAX_PIXELS_PER_SIDE} a side")


def check_radiograph(radiograph: Radiograph, source: str) -> None:
    """Refuse a radiograph outside the bounds of the module docstring (its spacing must be known)."""
    rows, columns = radiograph.shape
    check_header_size(rows, columns, source)
    if min(rows, columns) < MIN_PIXELS_PER_SIDE:
        raise InputRefusedError(source, f"{rows} x {columns} pixels, fewer than {MIN_PIXELS_PER_SIDE} a side")
    spacing = radiograph.pixel_spacing_mm
    if spacing is not None:
        low, high = SPACING_RANGE_MM
        if not all(np.isfinite(spacing)) or not all(low <= value <= high for value in spacing):
            shown = f"{spacing[0]:g} x {spacing[1]:g}"
            raise InputRefusedError(source, f"pixel spacing {shown} mm is outside {low}-{high} mm")
        field = (rows * spacing[0], columns * spacing[1])
        if min(field) < MIN_FIELD_MM:
            raise InputRefusedError(
                source, f"the image covers {field[0]:.0f} x {field[1]:.0f} mm, too little for a hip"
            )
    values = radiograph.array
    if not np.isfinite(values).all():
        raise InputRefusedError(source, "pixel values that are not finite (a Rescale Slope of NaN?)")
    if float(values.max()) == float(values.min()):
        raise InputRefusedError(source, f"every pixel has the value {float(values.min()):g}: a blank image")
