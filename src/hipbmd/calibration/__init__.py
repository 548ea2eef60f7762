"""CT density calibration: phantoms, rod finding, the HU → mg/cm³ fit, and the phantomless option."""

from hipbmd.calibration.calibrate import calibrate_with_phantom, manual_calibration
from hipbmd.calibration.phantomless import phantomless_calibration
from hipbmd.calibration.phantoms import Phantom, builtin_phantoms, load_phantom
from hipbmd.calibration.result import Calibration, ReferenceTissue, load_calibration
from hipbmd.calibration.rods import RodMeasurement

__all__ = [
    "Calibration",
    "Phantom",
    "ReferenceTissue",
    "RodMeasurement",
    "builtin_phantoms",
    "calibrate_with_phantom",
    "load_calibration",
    "load_phantom",
    "manual_calibration",
    "phantomless_calibration",
]
