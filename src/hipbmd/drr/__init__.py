"""Quantitative DRRs: projection geometry, exact renderer, differentiable renderer."""

from hipbmd.drr.geometry import PoseParameters, camera_from_radiograph, pixel_rays, project_points
from hipbmd.drr.render import DRR, Projector, hu_to_attenuation, render

__all__ = [
    "DRR",
    "PoseParameters",
    "Projector",
    "camera_from_radiograph",
    "hu_to_attenuation",
    "pixel_rays",
    "project_points",
    "render",
]
