"""The torch renderer: agrees with the exact one on smooth data; pose gradients match finite differences."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from phantoms import grid  # noqa: E402

from hipbmd.drr.differentiable import render_differentiable, rotation_matrix_torch  # noqa: E402
from hipbmd.drr.geometry import PoseParameters, rotation_matrix_deg  # noqa: E402
from hipbmd.drr.render import render  # noqa: E402
from hipbmd.types import Camera, Volume  # noqa: E402


def _blob() -> Volume:
    affine, centres = grid((40, 40, 40), 1.0)
    values = np.exp(-((np.linalg.norm(centres - [3.0, -2.0, 1.0], axis=-1) / 8.0) ** 2)).astype(np.float32)
    return Volume(values, affine, "1/mm")


CAMERA = Camera((24, 24), (2.0, 2.0), 1100.0)


def _torch_image(volume: Volume, rotation, translation):  # type: ignore[no-untyped-def]
    return render_differentiable(
        torch.as_tensor(volume.array, dtype=torch.float64),
        volume.affine,
        CAMERA,
        rotation,
        translation,
        torch.zeros(3, dtype=torch.float64),
        950.0,
        step_mm=0.25,
    )


def test_rotation_matrix_matches_numpy() -> None:
    angles = [10.0, -20.0, 35.0]
    torch_matrix = rotation_matrix_torch(torch.tensor(angles, dtype=torch.float64)).numpy()
    assert torch_matrix == pytest.approx(rotation_matrix_deg(angles))


def test_agrees_with_the_exact_renderer_on_a_smooth_volume() -> None:
    volume = _blob()
    angles, shift = (4.0, -3.0, 6.0), (2.0, 1.0, -3.0)
    pose = PoseParameters(angles, shift, (0.0, 0.0, 0.0), 950.0).to_pose()
    exact = render(volume, Camera(CAMERA.shape, CAMERA.pixel_spacing_mm, CAMERA.sdd_mm, pose=pose)).images[0]
    smooth = _torch_image(
        volume, torch.tensor(angles, dtype=torch.float64), torch.tensor(shift, dtype=torch.float64)
    ).numpy()
    assert smooth == pytest.approx(exact, rel=0.02, abs=0.02 * float(exact.max()))


def test_pose_gradient_matches_finite_differences() -> None:
    volume = _blob()
    rotation = torch.tensor([3.0, -2.0, 5.0], dtype=torch.float64, requires_grad=True)
    translation = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64, requires_grad=True)
    weights = torch.linspace(0.5, 1.5, 24 * 24, dtype=torch.float64).view(24, 24)
    loss = (_torch_image(volume, rotation, translation) * weights).sum()
    loss.backward()
    analytic = torch.cat([rotation.grad, translation.grad]).numpy()
    numeric = []
    for i in range(6):
        step = torch.zeros(6, dtype=torch.float64)
        step[i] = 1e-3
        values = []
        for sign in (1.0, -1.0):
            params = torch.cat([rotation.detach(), translation.detach()]) + sign * step
            values.append(float((_torch_image(volume, params[:3], params[3:]) * weights).sum()))
        numeric.append((values[0] - values[1]) / 2e-3)
    assert analytic == pytest.approx(np.array(numeric), rel=1e-2, abs=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu() -> None:
    volume = _blob()
    rotation = torch.tensor([3.0, -2.0, 5.0], dtype=torch.float64)
    translation = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    cpu = _torch_image(volume, rotation, translation)
    cuda = render_differentiable(
        torch.as_tensor(volume.array, dtype=torch.float64, device="cuda"),
        volume.affine,
        CAMERA,
        rotation.cuda(),
        translation.cuda(),
        torch.zeros(3, dtype=torch.float64, device="cuda"),
        950.0,
        step_mm=0.25,
    )
    assert cuda.cpu().numpy() == pytest.approx(cpu.numpy(), rel=1e-6, abs=1e-9)
