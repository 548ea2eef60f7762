"""Region channels: the mirror keeps each point with its side, and `locate` reads each hip's points near
its head from the heatmaps, keeping a weak point with its response and leaving out one the model barely
sees."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hipbmd.localisation.heatmaps import LANDMARKS_WITH_REGIONS, gaussian_heatmaps, mirrored_order  # noqa: E402
from hipbmd.localisation.hip_location import HipLocation  # noqa: E402
from hipbmd.localisation.locate import _Frame, locate_hips  # noqa: E402
from hipbmd.localisation.network import LocaliserConfig  # noqa: E402
from hipbmd.types import Radiograph  # noqa: E402

SIZE, PITCH_MM, SIGMA_PX = 64, 3.0, 2.0
CONFIG = LocaliserConfig(landmarks=LANDMARKS_WITH_REGIONS, channels=(8, 16), pitch_mm=PITCH_MM, size=SIZE)
POINTS = {  # working = original pixels here: spacing = pitch, no padding
    "right_head": (20.0, 18.0),
    "right_lesser_trochanter": (38.0, 20.0),
    "left_head": (21.0, 45.0),
    "left_lesser_trochanter": (39.0, 43.0),
    "right_neck_narrowest": (24.0, 14.5),
    "right_neck_base": (27.0, 10.0),
    "right_shaft_distal": (47.0, 12.0),
    "right_greater_trochanter": (19.0, 7.0),
    "left_neck_narrowest": (25.0, 49.0),
    "left_neck_base": (28.0, 53.0),
    "left_shaft_distal": (48.0, 51.0),
    "left_greater_trochanter": (20.0, 56.0),
}


class FixedHeatmaps(torch.nn.Module):  # type: ignore[misc]
    """A stand-in localiser whose heatmaps are Gaussians at given points (``weak`` channels peak at
    their factor)."""

    def __init__(self, weak: dict[str, float] | None = None) -> None:
        super().__init__()
        self.config = CONFIG
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        names = CONFIG.landmarks
        points = np.array([POINTS.get(name, (np.nan, np.nan)) for name in names])
        maps = 0.001 + 0.99 * gaussian_heatmaps(points, (SIZE, SIZE), SIGMA_PX)
        for name, factor in (weak or {}).items():
            maps[names.index(name)] *= factor
        self.logits = torch.logit(torch.from_numpy(maps))[None]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.logits


def test_the_mirror_trades_each_region_point_with_its_other_side() -> None:
    order = mirrored_order(LANDMARKS_WITH_REGIONS)
    names = LANDMARKS_WITH_REGIONS
    assert [names[i] for i in order][6:10] == [f"left_{n.removeprefix('right_')}" for n in names[6:10]]


def test_locate_reads_each_hips_region_points_near_its_head(monkeypatch: pytest.MonkeyPatch) -> None:
    # the stand-in's heatmaps do not turn with the image: its turned looks would not agree
    monkeypatch.setattr("hipbmd.localisation.locate.VIEW_TURN_DEG", 0.0)
    radiograph = Radiograph(np.zeros((SIZE, SIZE), np.float32), (PITCH_MM, PITCH_MM), "imager")
    weak = {"left_shaft_distal": 0.05, "left_greater_trochanter": 0.2, "left_lesser_trochanter": 0.15}
    hips = locate_hips(radiograph, FixedHeatmaps(weak=weak))
    assert [hip.side for hip in hips] == ["right", "left"]
    right, left = hips
    assert set(right.region_points_px) == {
        "neck_narrowest",
        "neck_base",
        "shaft_distal",
        "greater_trochanter",
    }
    for name, point in right.region_points_px.items():
        np.testing.assert_allclose(point, POINTS[f"right_{name}"], atol=0.05)
    assert "shaft_distal" not in left.region_points_px  # seen too faintly to place a region on
    np.testing.assert_allclose(left.region_points_px["neck_base"], POINTS["left_neck_base"], atol=0.05)
    np.testing.assert_allclose(  # weak but kept, and its response is the hip's region confidence
        left.region_points_px["greater_trochanter"], POINTS["left_greater_trochanter"], atol=0.05
    )
    assert left.lesser_trochanter_px is None  # too faint to be found, kept for the regions only
    np.testing.assert_allclose(
        left.region_points_px["lesser_trochanter"], POINTS["left_lesser_trochanter"], atol=0.05
    )
    assert left.region_confidence == pytest.approx(0.15, abs=0.01)
    assert "lesser_trochanter" not in right.region_points_px
    assert right.region_confidence is not None and right.region_confidence > 0.9
    assert HipLocation.from_dict(left.to_dict()) == left


def test_a_model_without_region_channels_gives_none() -> None:
    radiograph = Radiograph(np.zeros((SIZE, SIZE), np.float32), (PITCH_MM, PITCH_MM), "imager")
    model = FixedHeatmaps()
    model.config = LocaliserConfig(landmarks=LANDMARKS_WITH_REGIONS[:4], channels=(8, 16), size=SIZE)
    model.logits = model.logits[:, :4]
    assert all(hip.region_points_px == {} for hip in locate_hips(radiograph, model))


def test_a_localiser_with_region_channels_starts_from_one_without() -> None:
    from hipbmd.localisation.heatmaps import LANDMARKS_WITH_IMPLANTS
    from hipbmd.localisation.network import HipLocaliser
    from hipbmd.localisation.train import start_from

    torch.manual_seed(0)
    old = HipLocaliser(LocaliserConfig(landmarks=LANDMARKS_WITH_IMPLANTS, channels=(4, 8)))
    new = HipLocaliser(LocaliserConfig(landmarks=LANDMARKS_WITH_REGIONS, channels=(4, 8)))
    fresh_region_weight = new.head.weight[6].clone()
    start_from(new, old)
    for key, value in old.state_dict().items():
        if not key.startswith("head."):
            assert torch.equal(new.state_dict()[key], value), key
    assert torch.equal(new.head.weight[:6], old.head.weight)  # the six channels both have, by name
    assert torch.equal(new.head.weight[6], fresh_region_weight)  # a new channel starts afresh
    with pytest.raises(ValueError, match="channels"):
        start_from(HipLocaliser(LocaliserConfig(channels=(8, 16))), old)


def _frame_with_peak(point_px: tuple[float, float], turn_deg: float) -> _Frame:
    """A working frame of a 64² image of 3 mm pixels turned ``turn_deg`` about its centre, whose
    channel 0 peaks at file pixel ``point_px``."""
    import math

    from hipbmd.frames import Affine2D
    from hipbmd.localisation.orientation import display_orientation

    centre = (SIZE - 1) / 2.0
    to_centre = Affine2D.scale_shift((1.0, 1.0), (-centre, -centre))
    file_to_working = to_centre.then(Affine2D.turn(math.radians(turn_deg))).then(to_centre.inverse())
    working = file_to_working.apply(np.asarray(point_px))
    maps = 0.001 + 0.99 * gaussian_heatmaps(np.asarray([working]), (SIZE, SIZE), SIGMA_PX)
    radiograph = Radiograph(np.zeros((SIZE, SIZE), np.float32), (PITCH_MM, PITCH_MM), "imager")
    orientation = display_orientation(radiograph)
    return _Frame(maps, file_to_working, orientation, (PITCH_MM, PITCH_MM), PITCH_MM, ())


def test_a_point_one_turned_look_misplaces_is_outvoted_by_the_two_that_agree() -> None:
    from dataclasses import replace

    from hipbmd.localisation.heatmaps import find_peak
    from hipbmd.localisation.locate import LT_SEARCH_MM, _steady

    def near(views: tuple[_Frame, ...]) -> tuple[np.ndarray, ...]:
        return tuple(view.within_mm(view.to_working(head_px), LT_SEARCH_MM) for view in views)

    true_px, stray_px, head_px = (40.0, 20.0), (40.0, 32.0), (20.0, 18.0)  # the stray look 36 mm off
    main = _frame_with_peak(true_px, 0.0)
    views = (_frame_with_peak(true_px, -6.0), _frame_with_peak(stray_px, 6.0))
    frame = replace(main, views=views)
    peak = find_peak(main.heatmaps[0])
    steady = _steady(frame, 0, peak, near(views))
    np.testing.assert_allclose([steady.row, steady.col], true_px, atol=0.05)
    assert steady.height == peak.height  # presence stays the frame's own call
    agreeing = (views[0], _frame_with_peak(true_px, 6.0))
    wrong = replace(main, heatmaps=_frame_with_peak(stray_px, 0.0).heatmaps, views=agreeing)
    moved = _steady(wrong, 0, find_peak(wrong.heatmaps[0]), near(agreeing))
    np.testing.assert_allclose([moved.row, moved.col], true_px, atol=0.05)  # the frame's own look strays


class ImageAsHeatmaps(torch.nn.Module):  # type: ignore[misc]
    """A stand-in localiser whose every heatmap is its (normalised) input image: a bright blob on the
    radiograph is a peak wherever the grid puts it, so turned looks agree as a real model's would."""

    def __init__(self) -> None:
        super().__init__()
        self.config = CONFIG
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # the blob's top normalises to about 2.2 (its 99th percentile is 0.45 of it): scaled under 0.99
        probability = torch.clamp(0.4 * image, 0.001, 0.99).expand(-1, len(CONFIG.landmarks), -1, -1)
        return torch.logit(probability)


@pytest.mark.parametrize("codes", [None, ("R", "F"), ("L", "H")])
@pytest.mark.parametrize("turn_deg", [0.0, 11.0])
def test_every_look_of_a_frame_maps_its_peak_back_to_the_same_file_pixel(
    codes: tuple[str, str] | None, turn_deg: float
) -> None:
    from hipbmd.localisation.heatmaps import find_peak
    from hipbmd.localisation.locate import _frame, _source

    spacing = (0.5, 0.6)  # mm, not square: the looks are turned in millimetres
    rows, cols = np.indices((400, 340), dtype=np.float64)
    blob_px = (230.0, 120.0)
    sigma_mm = 9.0
    blob = np.exp(
        -(((rows - blob_px[0]) * spacing[0]) ** 2 + ((cols - blob_px[1]) * spacing[1]) ** 2)
        / (2 * sigma_mm**2)
    )
    meta = {} if codes is None else {"patient_orientation": list(codes)}
    radiograph = Radiograph(blob.astype(np.float32), spacing, "imager", meta=meta)
    model = ImageAsHeatmaps()
    frame = _frame(_source(radiograph, model), model, turn_deg)
    assert len(frame.views) == 2
    for look in (frame, *frame.views):
        peak = find_peak(look.heatmaps[0])
        found = np.asarray(look.to_original(peak.row, peak.col))
        # within a fifth of the 3 mm working pitch, at the detector
        assert float(np.hypot(*((found - blob_px) * spacing))) < 0.6
