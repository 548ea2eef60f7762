"""Labels moved from the fine anatomy grid to coarser CT voxels: each voxel gets what fills most of it.

The analytic case is a ball of known radius and centre given as partial volumes on a 1 mm grid, labelled
on 2 mm slices whose centres fall halfway between fine voxels (the phase at which taking the nearest fine
voxel moves the whole label by half a voxel). The coarse label must keep the ball's volume and centre.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from hipbmd.sim.grid import Grid
from hipbmd.sim.label_sampling import box_weights, plurality_labels
from hipbmd.sim.tissues import Tissues

SIZE = 64
RADIUS = 15.0
CENTRE = np.array([31.7, 32.2, 31.0])  # fine voxel index units (1 mm)


def ball_shares(centre: npt.NDArray[np.float64] = CENTRE) -> npt.NDArray[np.float32]:
    """Share of each fine voxel inside the ball (a linear ramp one voxel wide across its surface)."""
    distance = np.sqrt(((np.indices((SIZE,) * 3) - centre[:, None, None, None]) ** 2).sum(axis=0))
    return np.clip(RADIUS - distance + 0.5, 0.0, 1.0).astype(np.float32)


def slice_positions(step: float, phase: float) -> list[npt.NDArray[np.float64]]:
    return [
        np.arange(SIZE, dtype=np.float64),
        np.arange(SIZE, dtype=np.float64),
        np.arange(phase, SIZE - 1, step),
    ]


def test_box_weights_cover_the_box_and_sum_to_one() -> None:
    assert box_weights(2.0) == pytest.approx([0.25, 0.5, 0.25])
    assert box_weights(3.0) == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert box_weights(0.9) == pytest.approx([1.0])  # a voxel smaller than the fine one: no averaging
    assert box_weights(1.75).sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("step", "phase"), [(2.0, 0.5), (2.0, 0.0), (1.75, 0.3), (1.5, 0.25)])
def test_a_ball_keeps_its_volume_and_centre_on_thick_slices(step: float, phase: float) -> None:
    shares = ball_shares()
    coarse = plurality_labels(
        (shares > 0).astype(np.uint8), shares, slice_positions(step, phase), [1.0, 1.0, step]
    )
    ball_mm3 = 4.0 / 3.0 * np.pi * RADIUS**3
    assert coarse.sum() * step == pytest.approx(ball_mm3, rel=0.01)  # more-than-half rule on curved caps
    z = slice_positions(step, phase)[2][np.argwhere(coarse)[:, 2]]
    assert z.mean() == pytest.approx(CENTRE[2], abs=0.1)


def test_the_nearest_fine_voxel_would_move_the_label() -> None:
    """The control: at a half-voxel phase, the nearest fine voxel's label sits half a voxel off."""
    shares = ball_shares()
    positions = slice_positions(2.0, 0.5)
    nearest = (shares >= 0.5)[:, :, np.round(positions[2]).astype(int)]
    z = positions[2][np.argwhere(nearest)[:, 2]]
    assert abs(z.mean() - CENTRE[2]) > 0.3


def test_two_structures_and_the_background_each_win_what_they_fill_most() -> None:
    structure = np.zeros((8, 1, 8), np.uint8)
    coverage = np.zeros((8, 1, 8), np.float32)
    structure[:, :, :3], coverage[:, :, :3] = 1, 1.0  # fine slices 0-2: structure 1
    structure[:, :, 3], coverage[:, :, 3] = 1, 0.4  # slice 3: 40 % structure 1
    structure[:, :, 4:6], coverage[:, :, 4:6] = 2, 1.0  # slices 4-5: structure 2
    positions = [np.arange(8.0), np.zeros(1), np.array([0.5, 2.5, 4.5, 6.5])]  # 2-slice voxels: 0-1, 2-3, ...
    labels = plurality_labels(structure, coverage, positions, [1.0, 1.0, 2.0])
    assert labels[0, 0].tolist() == [1, 1, 2, 0]  # voxel 2-3: 1.4 of 2 slices is structure 1


def test_tissues_record_what_covers_each_voxel() -> None:
    tissues = Tissues.empty(Grid((3, 1, 1), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)))
    index = (np.arange(3), np.zeros(3, np.intp), np.zeros(3, np.intp))
    zeros = np.zeros(3, np.float32)
    tissues.add_bone(index, np.array([0.9, 0.3, 0.2], np.float32), zeros, 0.5, 3)
    tissues.add_bone(index, np.array([0.6, 0.4, 0.1], np.float32), zeros, 0.5, 1)
    assert tissues.structure[:, 0, 0].tolist() == [1, 1, 3]  # at least half wins; else the larger share
    assert tissues.coverage[:, 0, 0] == pytest.approx([0.6, 0.4, 0.2])
    assert tissues.labels[:, 0, 0].tolist() == [1, 0, 0]  # labelled only where at least half is filled
