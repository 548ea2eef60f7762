"""What making a case's radiograph produced: the record the truth is written from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipbmd.sim.exam import ExamGeometry, Positioning
from hipbmd.sim.random_style import RadiographStyle


@dataclass(frozen=True, eq=False)
class RadiographMade:
    """What making a case's radiograph produced.

    Attributes:
        exam: the geometry of the exposure.
        positioning: how the patient lay, the style's framing included.
        style: acquisition, processing, finishing and how the file states its geometry.
        file_name: the file written in the case folder (``xray.dcm``, ``xray.png`` or ``xray.jpg``).
        bone_drr_g_cm2: the all-bone mineral DRR on the truth DRRs' coarse pixels, g/cm².
    """

    exam: ExamGeometry
    positioning: Positioning
    style: RadiographStyle
    file_name: str
    bone_drr_g_cm2: npt.NDArray[np.float32]
