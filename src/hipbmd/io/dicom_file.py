"""Open one DICOM file robustly: gzip-wrapped, preamble-less (ACR-NEMA style) or damaged.

Every failure becomes an :class:`~hipbmd.errors.InputError` that names the file.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from hipbmd.errors import InputError, InputRefusedError

# A gzip-wrapped DICOM unzips to at most this: a 10 000 x 10 000 image of 16 bits, and its header.
MAX_GUNZIPPED_BYTES = 256 << 20
# Attributes of which at least one must be present for a preamble-less file to count as DICOM.
_IDENTIFYING_KEYWORDS = ("SOPClassUID", "Modality", "Rows", "StudyInstanceUID")


def _open_bytes(path: Path) -> io.BytesIO:
    """Read the file, un-gzipping it when it is gzip-compressed (e.g. ``x.dcm.gz``)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = stream.read(MAX_GUNZIPPED_BYTES + 1)
        except (OSError, EOFError) as error:
            raise InputError(path, f"damaged gzip file ({error})") from error
        if len(raw) > MAX_GUNZIPPED_BYTES:
            raise InputRefusedError(path, f"unzips to more than {MAX_GUNZIPPED_BYTES >> 20} MB")
    return io.BytesIO(raw)


def _fill_missing_transfer_syntax(dataset: Dataset) -> None:
    """Give a file without File Meta the transfer syntax it was actually read with."""
    if "TransferSyntaxUID" in getattr(dataset, "file_meta", {}):
        return
    implicit, little = dataset.original_encoding
    if not little:
        return
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    dataset.file_meta = meta


def read_dicom(path: str | Path, *, stop_before_pixels: bool = False) -> Dataset:
    """Read a DICOM file, tolerating a missing preamble/File Meta and gzip compression.

    Raises:
        InputError: the path does not exist, is not DICOM, or is too damaged to parse.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a file")
    buffer = _open_bytes(path)
    has_prefix = buffer.getbuffer()[128:132].tobytes() == b"DICM"
    try:
        dataset: Dataset = pydicom.dcmread(buffer, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as error:
        if has_prefix:
            raise InputError(path, f"damaged DICOM file ({_short(error)})") from error
        dataset = _read_without_preamble(path, buffer, stop_before_pixels)
    except Exception as error:  # pydicom raises many types on damaged files
        raise InputError(path, f"damaged DICOM file ({_short(error)})") from error
    _fill_missing_transfer_syntax(dataset)
    return dataset


def _read_without_preamble(path: Path, buffer: io.BytesIO, stop_before_pixels: bool) -> Dataset:
    """Second attempt for ACR-NEMA style files that start directly with data elements."""
    buffer.seek(0)
    try:
        dataset = pydicom.dcmread(buffer, force=True, stop_before_pixels=stop_before_pixels)
        identified = any(keyword in dataset for keyword in _IDENTIFYING_KEYWORDS)
    except Exception as error:
        raise InputError(path, "not a DICOM file") from error
    if not identified:
        raise InputError(path, "not a DICOM file")
    return dataset


def pixel_array(dataset: Dataset, path: str | Path) -> npt.NDArray[np.generic]:
    """Decode the stored pixel values (no LUT applied), naming the file on any failure."""
    if "PixelData" not in dataset:
        raise InputError(path, "DICOM file has no pixel data")
    try:
        return np.asarray(dataset.pixel_array)
    except Exception as error:
        syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", "unknown transfer syntax")
        raise InputError(path, f"cannot decode pixel data ({name}): {_short(error)}") from error


def number_of_frames(dataset: Dataset) -> int:
    """Frames in the file (1 when the attribute is absent or empty)."""
    value = dataset.get("NumberOfFrames")
    try:
        return int(value) if value not in (None, "") else 1
    except (TypeError, ValueError):
        return 1


def _short(error: BaseException) -> str:
    """First line of an exception message, for one-line reports."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
