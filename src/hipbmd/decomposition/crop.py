"""The model grid: a square crop about one hip at a fixed pixel size in the patient plane.

Every crop shows a hip the way a right hip looks on an AP view (head on the viewer's right of the
shaft); a left hip is mirrored into that orientation, so the network learns one anatomy. The femoral
head centre sits at a fixed place (:attr:`CropGrid.head_at`), leaving room for the whole proximal femur
down to 2 cm below the lesser trochanter.

Pixel sizes: the crop's ``spacing_mm`` is in the patient plane (object size). On the detector that is
``spacing_mm × magnification``; the radiograph and the truth DRRs are both on detector pixels, so a crop
pixel (r, c) maps to the image point head + M·s·((r − r_h), ±(c − c_h)) / detector spacing, the offset
first turned by the placement's ``turn_deg`` when the crop is levelled on a tilted image. Downsampling
is anti-aliased with a Gaussian of σ = 0.5·√(f² − 1) source pixels (f = crop pixel / source pixel).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.frames import Affine2D

FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class CropGrid:
    """Shape (rows, cols), patient-plane pixel size (mm) and where the head centre sits (fractions)."""

    shape: tuple[int, int] = (128, 128)
    spacing_mm: float = 1.25
    head_at: tuple[float, float] = (0.30, 0.62)

    @property
    def head_px(self) -> tuple[float, float]:
        """Crop pixel of the head centre (row, col)."""
        return (self.head_at[0] * (self.shape[0] - 1), self.head_at[1] * (self.shape[1] - 1))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> CropGrid:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(record["shape"]), float(record["spacing_mm"]), tuple(record["head_at"]))


@dataclass(frozen=True)
class CropPlacement:
    """Where a crop lies on a detector image.

    Attributes:
        head_px: the femoral head centre in the image (row, col), sub-pixel.
        detector_spacing_mm: the image's pixel size at the detector (row, col).
        magnification: detector size / patient-plane size.
        mirror: True for a left hip on a standard AP display (crop columns run the other way).
        turn_deg: the crop's axes turned about the head by this angle (deg) relative to the image's,
            counter-clockwise as the crop is displayed (:meth:`~hipbmd.frames.Affine2D.turn`): an image
            tilted counter-clockwise by t shows level in an unmirrored crop turned by t, in a mirrored one
            turned by −t. 0 for an axis-aligned crop.
    """

    head_px: tuple[float, float]
    detector_spacing_mm: tuple[float, float]
    magnification: float
    mirror: bool
    turn_deg: float = 0.0


def crop_points(grid: CropGrid, placement: CropPlacement) -> tuple[FloatImage, FloatImage]:
    """Image coordinates (rows, cols), each (H, W), of every crop pixel centre."""
    rows, cols = np.meshgrid(np.arange(grid.shape[0]), np.arange(grid.shape[1]), indexing="ij")
    image = crop_to_image(np.stack([rows.ravel(), cols.ravel()], axis=1), grid, placement)
    return (
        image[:, 0].reshape(grid.shape).astype(np.float32),
        image[:, 1].reshape(grid.shape).astype(np.float32),
    )


def sample_crop(
    image: npt.ArrayLike, grid: CropGrid, placement: CropPlacement, outside: float | None = 0.0
) -> FloatImage:
    """The crop of ``image`` (anti-aliased, bilinear); ``outside`` fills beyond it (None: the edge value).

    Only the window of the image the crop covers is filtered, with a margin wider than the Gaussian's
    reach (4 σ), so the crop is the one the whole filtered image would give, at a fraction of the cost."""
    values = np.asarray(image, dtype=np.float32)
    step = grid.spacing_mm * placement.magnification / np.asarray(placement.detector_spacing_mm)
    sigma = [0.5 * np.sqrt(max(f * f - 1.0, 0.0)) for f in step]
    rows, cols = crop_points(grid, placement)
    (top, bottom), (left, right) = (
        _window(points, int(np.ceil(4.0 * max(sigma))) + 2, size)
        for points, size in ((rows, values.shape[0]), (cols, values.shape[1]))
    )
    window = values[top:bottom, left:right]
    smooth = ndimage.gaussian_filter(window, sigma) if max(sigma) > 0 else window
    mode = "nearest" if outside is None else "constant"
    where = [rows - top, cols - left]
    sampled = ndimage.map_coordinates(smooth, where, order=1, mode=mode, cval=outside or 0.0)
    return np.asarray(sampled, dtype=np.float32)


def _window(points: FloatImage, margin: int, size: int) -> tuple[int, int]:
    """The pixel range [start, stop) along one axis of length ``size`` that holds ``points`` (clipped to
    the axis) with ``margin`` pixels to spare, within the axis."""
    inside = np.clip(points, 0, size - 1)  # points beyond an edge read the edge's neighbourhood
    start = max(0, int(np.floor(inside.min())) - margin)
    stop = min(size, int(np.ceil(inside.max())) + margin + 1)
    return start, stop


def crop_frame(grid: CropGrid, placement: CropPlacement) -> Affine2D:
    """The frame change crop pixels → image pixels (row, col both)."""
    head_row, head_col = grid.head_px
    sign = -1.0 if placement.mirror else 1.0
    detector_mm = grid.spacing_mm * placement.magnification
    scale = (
        detector_mm / placement.detector_spacing_mm[0],
        sign * detector_mm / placement.detector_spacing_mm[1],
    )
    to_head = Affine2D.scale_shift((1.0, 1.0), (-head_row, -head_col))
    turned = to_head.then(Affine2D.turn(np.radians(placement.turn_deg)))
    return turned.then(Affine2D.scale_shift(scale, placement.head_px))


def crop_to_image(
    points_crop_px: npt.ArrayLike, grid: CropGrid, placement: CropPlacement
) -> npt.NDArray[np.float64]:
    """Image pixel coordinates (N, 2) of crop pixel coordinates (N, 2), (row, col) both."""
    return crop_frame(grid, placement).apply(np.atleast_2d(np.asarray(points_crop_px, dtype=np.float64)))


def normalise_radiograph(crop: FloatImage) -> FloatImage:
    """Network input from a radiograph crop: 1st–99th percentile → 0–1 (clipped to −0.5…1.5).

    Radiograph grey levels are not quantitative (each site processes them differently), so a per-crop
    scaling is the honest input; the target DRRs keep their physical units.
    """
    low, high = np.percentile(crop, [1.0, 99.0])
    scaled = (crop - low) / max(float(high - low), 1e-6)
    return np.asarray(np.clip(scaled, -0.5, 1.5), dtype=np.float32)
