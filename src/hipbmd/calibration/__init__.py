"""CT density calibration: phantom definitions (rods of known density) and, later, rod finding and fitting."""

from hipbmd.calibration.phantoms import Phantom, builtin_phantoms, load_phantom

__all__ = ["Phantom", "builtin_phantoms", "load_phantom"]
