"""Frames of a radiograph and the maps between them, as one object each.

A point on a radiograph is (row, col) with integer values at pixel centres, in one of four frames:

* the file's pixels, as stored;
* the standard AP display (the patient's left on the viewer's right, feet down), a flip of the file;
* the localiser's working grid, a scaled and shifted copy of the display at a fixed pitch (turned, on a
  second look at a tilted image);
* a decomposition crop, a scaled, shifted and possibly mirrored window about one hip (turned, on a tilted
  image).

Each change of frame is an :class:`Affine2D`: a 3×3 matrix acting on (row, col, 1). Maps compose with
:meth:`Affine2D.then` and invert with :meth:`Affine2D.inverse`, so a chain of frames is built once and
a point goes through it forward once and back once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

PointArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Affine2D:
    """An affine map of (row, col) points: ``p' = A·p + b``, stored as the 3×3 matrix [[A, b], [0, 1]].

    Attributes:
        matrix: the 3×3 homogeneous matrix (read-only).
    """

    matrix: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(3))

    def __post_init__(self) -> None:
        matrix = np.array(self.matrix, dtype=np.float64)
        if matrix.shape != (3, 3) or not np.allclose(matrix[2], (0.0, 0.0, 1.0)):
            raise ValueError(f"an affine map needs a 3x3 matrix with last row 0 0 1, got {matrix}")
        if abs(np.linalg.det(matrix[:2, :2])) < 1e-12:
            raise ValueError("an affine map between frames must be invertible")
        matrix.setflags(write=False)
        object.__setattr__(self, "matrix", matrix)

    @classmethod
    def scale_shift(cls, scale: tuple[float, float], shift: tuple[float, float]) -> Affine2D:
        """Per-axis scale, then shift: ``(row, col) → (s_r·row + t_r, s_c·col + t_c)``."""
        return cls(np.array([[scale[0], 0.0, shift[0]], [0.0, scale[1], shift[1]], [0.0, 0.0, 1.0]]))

    @classmethod
    def flips(cls, shape: tuple[int, int], rows: bool = False, cols: bool = False) -> Affine2D:
        """Pixel flips of an image of ``shape`` (rows, cols): a flipped axis maps i → (n − 1) − i."""
        return cls.scale_shift(
            (-1.0 if rows else 1.0, -1.0 if cols else 1.0),
            (shape[0] - 1.0 if rows else 0.0, shape[1] - 1.0 if cols else 0.0),
        )

    @classmethod
    def turn(cls, angle_rad: float) -> Affine2D:
        """A rotation about the origin by ``angle_rad``, counter-clockwise as displayed (rows run down):
        ``(row, col) → (cos·row − sin·col, sin·row + cos·col)``, so the column axis (0, 1) goes to
        (−sin, cos), up on the display for a positive angle."""
        cos, sin = float(np.cos(angle_rad)), float(np.sin(angle_rad))
        return cls(np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]]))

    def apply(self, points: npt.ArrayLike) -> PointArray:
        """The map of (row, col) points, shape (..., 2) → (..., 2)."""
        values = np.asarray(points, dtype=np.float64)
        return np.asarray(values @ self.matrix[:2, :2].T + self.matrix[:2, 2], dtype=np.float64)

    def then(self, after: Affine2D) -> Affine2D:
        """This map followed by ``after``."""
        return Affine2D(after.matrix @ self.matrix)

    def inverse(self) -> Affine2D:
        """The map back."""
        return Affine2D(np.asarray(np.linalg.inv(self.matrix), dtype=np.float64))

    @property
    def scale(self) -> tuple[float, float]:
        """Length of a unit step along rows and along columns after the map (source pixels per pixel)."""
        norms = np.linalg.norm(self.matrix[:2, :2], axis=0)
        return float(norms[0]), float(norms[1])
