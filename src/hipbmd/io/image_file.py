"""Read a plain image file (PNG, JPEG, TIFF, BMP) as a :class:`Radiograph` of unknown spacing.

Plain images carry no physical pixel size, presentation intent or demographics; the caller supplies a
spacing (``--spacing-mm``) when it is known. The image is taken as displayed: bone bright.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from hipbmd.errors import InputError, InputRefusedError, InputWarning
from hipbmd.io.radiograph_bounds import check_header_size
from hipbmd.types import Radiograph

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
# ITU-R BT.601 luma weights.
_LUMA_WEIGHTS = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


def rgb_to_grey(rgb: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Luma (BT.601) of an (H, W, 3) or (H, W, 4) colour image; alpha is dropped."""
    return np.asarray(rgb[..., :3], dtype=np.float32) @ _LUMA_WEIGHTS


GREY_MODES = {"L", "I", "I;16", "I;16B", "I;16L", "F"}


def _displayable(image: Image.Image) -> Image.Image:
    """Grey modes as stored; bilevel and grey+alpha to L; palette, CMYK, YCbCr, … to RGB (as displayed)."""
    if image.mode in GREY_MODES:
        return image
    if image.mode in ("1", "LA", "La"):
        return image.convert("L")
    if image.mode == "P" and image.palette is not None and image.palette.mode in ("L", "LA"):
        return image.convert("L")
    return image.convert("RGB")


def read_image_file(path: Path) -> Radiograph:
    """Read a PNG/JPEG/TIFF/BMP; colour becomes grey with a warning; multi-page files are refused."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the header only
            frames = int(getattr(image, "n_frames", 1))
            if frames > 1:
                raise InputError(path, f"multi-page image ({frames} pages); a radiograph has one")
            check_header_size(image.height, image.width, str(path))  # before the pixels are decoded
            image.load()
            mode = image.mode
            values = np.asarray(_displayable(image))
    except InputError:
        raise
    except Image.DecompressionBombError as error:
        raise InputRefusedError(path, f"too many pixels to decode safely ({error})") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(path, f"cannot read image ({error})") from error
    handling = f"{mode} as displayed (bone bright)"
    if values.ndim == 3:
        warnings.warn(f"{path}: colour image converted to grey", InputWarning, stacklevel=2)
        values, handling = rgb_to_grey(values), f"{mode} converted to grey (luminance)"
    meta = {
        "source": str(path),
        "format": path.suffix.lower().lstrip(".").upper(),
        "image_mode": mode,
        "photometric_handling": handling,
        "voi_applied": False,
        "notes": ["plain image: no physical spacing unless given"],
    }
    return Radiograph(np.asarray(values, dtype=np.float32), None, "unknown", meta=meta)
