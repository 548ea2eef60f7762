"""A differentiable DRR renderer in PyTorch (CPU or CUDA): trilinear samples along each ray.

The integral ∫ f(s + t(e − s)) |e − s| dt over the part of the ray inside the volume is approximated by the
midpoint rule with samples about ``step_mm`` apart, f being the trilinear interpolant of the voxel values.
Gradients flow to the pose parameters (rotation in degrees, translation in mm) through the ray geometry,
which is what intensity-based 2D/3D registration needs. Same geometry as :mod:`hipbmd.drr.render`; the output
is the raw integral in volume-unit·mm (multiply by 1e-4 for g/cm² from mg/cm³, as render does).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from hipbmd.drr.geometry import AP_VIEW_ROTATION
from hipbmd.types import Camera

if TYPE_CHECKING:
    import torch

RAYS_PER_CHUNK = 8192


def rotation_matrix_torch(rotation_deg: torch.Tensor) -> torch.Tensor:
    """R_z · R_y · R_x for rotations (about x, y, z) in degrees; differentiable."""
    import torch

    rx, ry, rz = torch.deg2rad(rotation_deg).unbind()
    one, zero = torch.ones_like(rx), torch.zeros_like(rx)
    about_x = torch.stack([one, zero, zero, zero, rx.cos(), -rx.sin(), zero, rx.sin(), rx.cos()]).view(3, 3)
    about_y = torch.stack([ry.cos(), zero, ry.sin(), zero, one, zero, -ry.sin(), zero, ry.cos()]).view(3, 3)
    about_z = torch.stack([rz.cos(), -rz.sin(), zero, rz.sin(), rz.cos(), zero, zero, zero, one]).view(3, 3)
    return about_z @ about_y @ about_x


def camera_to_world_torch(
    rotation_deg: torch.Tensor,
    translation_mm: torch.Tensor,
    isocenter_mm: torch.Tensor,
    sod_mm: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, t) such that x_cam = R x_world + t, as in :class:`~hipbmd.drr.geometry.PoseParameters`."""
    import torch

    view = torch.as_tensor(AP_VIEW_ROTATION, dtype=rotation_deg.dtype, device=rotation_deg.device)
    patient = rotation_matrix_torch(rotation_deg)
    rotation = view @ patient
    depth = torch.tensor([0.0, 0.0, sod_mm], dtype=rotation_deg.dtype, device=rotation_deg.device)
    translation = view @ (translation_mm - patient @ isocenter_mm) + depth
    return rotation, translation


def detector_points(
    camera: Camera, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray starts and ends (H·W, 3) in the camera frame, row-major."""
    import torch

    rows = torch.arange(camera.shape[0], dtype=dtype, device=device)
    cols = torch.arange(camera.shape[1], dtype=dtype, device=device)
    grid_rows, grid_cols = torch.meshgrid(rows, cols, indexing="ij")
    row0, col0 = camera.principal_point
    x = (grid_cols.reshape(-1) - col0) * camera.pixel_spacing_mm[1]
    y = (grid_rows.reshape(-1) - row0) * camera.pixel_spacing_mm[0]
    ends = torch.stack([x, y, torch.full_like(x, camera.sdd_mm)], dim=1)
    starts = (
        torch.zeros_like(ends) if camera.projection == "perspective" else ends * ends.new_tensor([1, 1, 0])
    )
    return starts, ends


def integrate_trilinear(
    volume: torch.Tensor, affine: np.ndarray, starts_mm: torch.Tensor, ends_mm: torch.Tensor, step_mm: float
) -> torch.Tensor:
    """Line integrals (N,) in volume-unit·mm of rays (N, 3) world mm through a (I, J, K) volume tensor."""
    import torch

    inverse = torch.as_tensor(np.linalg.inv(affine), dtype=starts_mm.dtype, device=starts_mm.device)
    starts = starts_mm @ inverse[:3, :3].T + inverse[:3, 3]
    deltas = ends_mm @ inverse[:3, :3].T + inverse[:3, 3] - starts
    t_enter, t_exit = _clip_to_box(starts, deltas, volume.shape)
    lengths_mm = torch.linalg.norm(ends_mm - starts_mm, dim=1)
    chord_mm = ((t_exit - t_enter).clamp(min=0) * lengths_mm.detach()).max().item()
    count = max(1, math.ceil(chord_mm / step_mm))
    fractions = (torch.arange(count, dtype=starts.dtype, device=starts.device) + 0.5) / count
    t = t_enter[:, None] + (t_exit - t_enter).clamp(min=0)[:, None] * fractions[None, :]
    points = starts[:, None, :] + t[..., None] * deltas[:, None, :]
    sizes = torch.as_tensor(volume.shape, dtype=starts.dtype, device=starts.device)
    normalised = (2.0 * points / (sizes - 1).clamp(min=1) - 1.0).flip(-1)  # grid order (k, j, i)
    samples = torch.nn.functional.grid_sample(
        volume[None, None], normalised[None, None], mode="bilinear", padding_mode="zeros", align_corners=True
    )[0, 0, 0]
    step_fraction = (t_exit - t_enter).clamp(min=0) / count
    integrals: torch.Tensor = samples.sum(dim=1) * step_fraction * lengths_mm
    return integrals


def _clip_to_box(
    starts: torch.Tensor, deltas: torch.Tensor, shape: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Parameters where rays enter and leave the box [−0.5, n − 0.5] of voxel centres' cells."""
    import torch

    sizes = torch.as_tensor(shape, dtype=starts.dtype, device=starts.device)
    safe = torch.where(deltas.abs() < 1e-12, torch.full_like(deltas, 1e-12), deltas)
    t0 = (-0.5 - starts) / safe
    t1 = (sizes - 0.5 - starts) / safe
    t_enter = torch.minimum(t0, t1).amax(dim=1).clamp(min=0.0)
    t_exit = torch.maximum(t0, t1).amin(dim=1).clamp(max=1.0)
    return t_enter, torch.maximum(t_exit, t_enter)


def render_differentiable(
    volume: torch.Tensor,
    affine: np.ndarray,
    camera: Camera,
    rotation_deg: torch.Tensor,
    translation_mm: torch.Tensor,
    isocenter_mm: torch.Tensor,
    sod_mm: float,
    step_mm: float = 1.0,
) -> torch.Tensor:
    """DRR (H, W) in volume-unit·mm for a pose given as tensors; differentiable in rotation and translation.

    ``camera.pose`` is ignored: the pose comes from the tensors (see ``PoseParameters`` for their meaning).
    """
    import torch

    rotation, translation = camera_to_world_torch(rotation_deg, translation_mm, isocenter_mm, sod_mm)
    starts_cam, ends_cam = detector_points(camera, rotation_deg.dtype, rotation_deg.device)
    starts = (starts_cam - translation) @ rotation
    ends = (ends_cam - translation) @ rotation
    chunks = [
        integrate_trilinear(
            volume, affine, starts[i : i + RAYS_PER_CHUNK], ends[i : i + RAYS_PER_CHUNK], step_mm
        )
        for i in range(0, len(starts), RAYS_PER_CHUNK)
    ]
    return torch.cat(chunks).view(camera.shape)
