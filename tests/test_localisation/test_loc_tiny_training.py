"""A tiny localiser learns two synthetic "hips" (bright disc, a trochanter blob and a shaft) and finds them.

The blob and the shaft make the side visible locally, as the greater trochanter and femur do on a
radiograph: the patient's right hip has them towards the viewer's left in the standard AP display.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

torch = pytest.importorskip("torch")

from hipbmd.localisation.appearance import AppearanceSettings  # noqa: E402
from hipbmd.localisation.augment import AugmentSettings  # noqa: E402
from hipbmd.localisation.data import LocaliserSample  # noqa: E402
from hipbmd.localisation.grid import grid_map  # noqa: E402
from hipbmd.localisation.locate import locate_hips  # noqa: E402
from hipbmd.localisation.network import LocaliserConfig  # noqa: E402
from hipbmd.localisation.train import LocaliserTraining, train_localiser  # noqa: E402
from hipbmd.types import Radiograph  # noqa: E402

SIZE = 48
PITCH_MM = 3.0
# views as the images are: no geometry, look or window changes, a little noise
STILL_VIEWS = AugmentSettings(
    rotation_deg=0.0, scale=0.0, shift_mm=0.0, single_hip=0.0, noise=0.01, appearance=AppearanceSettings.off()
)
CONFIG = LocaliserConfig(channels=(8, 16), pitch_mm=PITCH_MM, size=SIZE, sigma_px=2.0, threshold=0.3)


def _hips(rng: np.random.Generator) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """Image (SIZE, SIZE) and landmarks (4, 2): right head, its shaft end, left head, its shaft end."""
    rows, cols = np.indices((SIZE, SIZE), dtype=np.float64)
    image = 0.2 + 0.02 * rng.standard_normal((SIZE, SIZE))
    landmarks = []
    for lateral, col_range in ((-1.0, (10.5, 15.5)), (1.0, (32.5, 37.5))):
        head = np.array([rng.uniform(13.5, 19.0), rng.uniform(*col_range)])
        end = head + np.array([16.0, 5.0 * lateral])
        image[np.hypot(rows - head[0], cols - head[1]) <= 4.0] = 1.0
        trochanter = head + np.array([3.0, 7.0 * lateral])  # the greater trochanter, lateral to the head
        image[np.hypot(rows - trochanter[0], cols - trochanter[1]) <= 2.5] = 0.6
        for t in np.linspace(0.3, 1.0, 30):
            point = head + t * (end - head)
            image[np.hypot(rows - point[0], cols - point[1]) <= 1.5] = 0.8
        landmarks += [head, end]
    return image.astype(np.float32), np.asarray(landmarks)


@pytest.fixture(scope="module")
def model() -> Iterator[object]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    mapping = grid_map((SIZE, SIZE), (PITCH_MM, PITCH_MM), PITCH_MM)
    samples = []
    for index in range(8):
        image, landmarks = _hips(rng)
        samples.append(LocaliserSample(f"s{index}", image, np.ones_like(image, bool), landmarks, mapping))
    settings = LocaliserTraining(iterations=100, batch=4, learning_rate=5e-3, peak_weight=20.0)
    trained, history = train_localiser(samples, CONFIG, settings, STILL_VIEWS)
    assert history[-1] < history[0]
    yield trained
    torch.set_num_threads(threads)


def _radiograph(image: npt.NDArray[np.float32], orientation: list[str] | None) -> Radiograph:
    meta = {} if orientation is None else {"patient_orientation": orientation}
    return Radiograph(image, (PITCH_MM, PITCH_MM), "imager", meta=meta)


def test_tiny_model_finds_both_heads(model: object) -> None:
    image, landmarks = _hips(np.random.default_rng(99))
    hips = locate_hips(_radiograph(image, ["L", "F"]), model)
    assert [hip.side for hip in hips] == ["right", "left"]
    for hip, truth in zip(hips, landmarks[[0, 2]], strict=True):
        assert np.hypot(*(np.asarray(hip.head_centre_px) - truth)) < 1.5
        assert hip.side_source == "dicom" and "side_assumed" not in hip.flags


def test_positions_come_back_in_the_original_pixels(model: object) -> None:
    image, landmarks = _hips(np.random.default_rng(99))
    finer = np.kron(image, np.ones((2, 2), dtype=np.float32))  # pixels of half the pitch
    radiograph = Radiograph(
        finer, (PITCH_MM / 2, PITCH_MM / 2), "imager", meta={"patient_orientation": ["L", "F"]}
    )
    hips = locate_hips(radiograph, model)
    assert [hip.side for hip in hips] == ["right", "left"]
    for hip, truth in zip(hips, landmarks[[0, 2]], strict=True):  # working p ↔ original 2p + 0.5
        assert np.hypot(*(np.asarray(hip.head_centre_px) - (2.0 * truth + 0.5))) < 3.0


def test_mirrored_image_swaps_sides_unless_the_file_says_so(model: object) -> None:
    image, landmarks = _hips(np.random.default_rng(99))
    mirrored = np.ascontiguousarray(image[:, ::-1])
    right_head_there = (landmarks[0, 0], SIZE - 1 - landmarks[0, 1])
    stated = {hip.side: hip for hip in locate_hips(_radiograph(mirrored, ["R", "F"]), model)}
    assert np.hypot(*(np.asarray(stated["right"].head_centre_px) - right_head_there)) < 1.5
    assumed = {hip.side: hip for hip in locate_hips(_radiograph(mirrored, None), model)}
    assert np.hypot(*(np.asarray(assumed["left"].head_centre_px) - right_head_there)) < 1.5
    assert assumed["left"].side_source == "assumed" and "side_assumed" in assumed["left"].flags


def test_user_side_and_centre_override_detection(model: object) -> None:
    image, landmarks = _hips(np.random.default_rng(99))
    radiograph = _radiograph(image, ["L", "F"])
    centre_mm = (landmarks[2, 0] * PITCH_MM, landmarks[2, 1] * PITCH_MM)
    (given,) = locate_hips(radiograph, model, center_mm=centre_mm, side="left")
    assert given.side == "left" and given.side_source == "user" and given.confidence == 1.0
    assert given.head_centre_px == pytest.approx(tuple(landmarks[2]))
    assert "centre_from_user" in given.flags
    (by_side,) = locate_hips(radiograph, model, side="right")
    assert by_side.side == "right" and by_side.side_source == "user"
