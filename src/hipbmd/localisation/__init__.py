"""Find the hips in a hip or pelvis radiograph: femoral head centres, lesser trochanters, sides.

A small heatmap network (:mod:`~hipbmd.localisation.network`) trained on simulated radiographs
(:mod:`~hipbmd.localisation.train`) finds each hip present; :func:`locate_hips` returns them in the
original image's pixels. Importing this package does not import torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_localiser", "locate_hips"]


def __getattr__(name: str) -> Any:
    if name == "locate_hips":
        from hipbmd.localisation.locate import locate_hips

        return locate_hips
    if name == "load_localiser":
        from hipbmd.localisation.model_files import load_localiser

        return load_localiser
    raise AttributeError(name)
