"""Femur and pelvis segmentation of hip CTs: the Bayesian U-Net, its training, and masks made elsewhere.

Importing this package does not import torch; :func:`segment_ct` loads it when called.
"""

from __future__ import annotations

from typing import Any

__all__ = ["segment_ct"]


def __getattr__(name: str) -> Any:
    if name == "segment_ct":
        from hipbmd.segmentation.segment import segment_ct

        return segment_ct
    raise AttributeError(name)
