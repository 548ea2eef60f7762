"""Reading CT volumes and radiographs into hipbmd's core types (the one place DICOM LPS becomes RAS+)."""

from hipbmd.io.ct import read_ct, read_labels
from hipbmd.io.radiograph import read_radiograph

__all__ = ["read_ct", "read_labels", "read_radiograph"]
