"""Proximal femur landmarks in world RAS+ millimetres, the common language of the DXA pose and the ROIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.types import Side


def unit_vector(vector: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``vector`` scaled to length 1."""
    values = np.asarray(vector, dtype=np.float64)
    length = float(np.linalg.norm(values))
    if length == 0.0:
        raise ValueError("cannot normalise a zero vector")
    return values / length


@dataclass
class FemurLandmarks:
    """Landmarks of one proximal femur (world RAS+ mm; directions are unit vectors).

    Attributes:
        side: the patient's side of this femur.
        head_centre_mm: centre of the femoral head (sphere fit).
        head_radius_mm: radius of the femoral head.
        neck_axis: direction from the neck base (where the neck axis meets the shaft axis) to the head centre.
        neck_narrowest_mm: point on the neck axis where the neck is narrowest.
        shaft_axis: direction of the shaft axis pointing proximally (towards the hip).
        shaft_point_mm: a point on the shaft axis.
        lesser_trochanter_mm: tip of the lesser trochanter.
        greater_trochanter_mm: most proximal point of the greater trochanter.
    """

    side: Side
    head_centre_mm: npt.NDArray[np.float64]
    head_radius_mm: float
    neck_axis: npt.NDArray[np.float64]
    neck_narrowest_mm: npt.NDArray[np.float64]
    shaft_axis: npt.NDArray[np.float64]
    shaft_point_mm: npt.NDArray[np.float64]
    lesser_trochanter_mm: npt.NDArray[np.float64]
    greater_trochanter_mm: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in (
            "head_centre_mm",
            "neck_narrowest_mm",
            "shaft_point_mm",
            "lesser_trochanter_mm",
            "greater_trochanter_mm",
        ):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64).reshape(3))
        self.neck_axis = unit_vector(self.neck_axis)
        self.shaft_axis = unit_vector(self.shaft_axis)

    def transformed(self, rotation: npt.ArrayLike, translation_mm: npt.ArrayLike) -> FemurLandmarks:
        """The landmarks after the rigid motion x → R·x + t (R a 3×3 rotation, t in mm)."""
        matrix = np.asarray(rotation, dtype=np.float64)
        shift = np.asarray(translation_mm, dtype=np.float64)

        def moved(point: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.asarray(matrix @ point + shift, dtype=np.float64)

        return FemurLandmarks(
            self.side,
            moved(self.head_centre_mm),
            self.head_radius_mm,
            matrix @ self.neck_axis,
            moved(self.neck_narrowest_mm),
            matrix @ self.shaft_axis,
            moved(self.shaft_point_mm),
            moved(self.lesser_trochanter_mm),
            moved(self.greater_trochanter_mm),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (mm, unit vectors)."""
        record: dict[str, Any] = {"side": self.side, "head_radius_mm": float(self.head_radius_mm)}
        for name in (
            "head_centre_mm",
            "neck_axis",
            "neck_narrowest_mm",
            "shaft_axis",
            "shaft_point_mm",
            "lesser_trochanter_mm",
            "greater_trochanter_mm",
        ):
            record[name] = [round(float(v), 4) for v in getattr(self, name)]
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> FemurLandmarks:
        """Inverse of :meth:`to_dict`."""
        return cls(**record)
