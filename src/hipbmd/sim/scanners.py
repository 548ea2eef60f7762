"""CT scanners of the simulated sites, each with its own CT-number response and hip protocol.

Effective energies of 60–75 keV correspond to 120 kVp beams behind different bowtie filters; gains and
offsets within a few percent and ±15 HU are the spread between scanners that makes phantom calibration
necessary. In-plane voxels of 0.9–1.0 mm and 1.5–2 mm slices are the coarse end of clinical hip QCT, kept
there so that a cohort of hundreds of cases fits on an ordinary disk; DICOM sites store RLE Lossless.
"""

from __future__ import annotations

from hipbmd.sim.ct import Scanner

_KEYS = ("name", "manufacturer", "effective_energy_kev", "hu_gain", "hu_offset", "pixel_mm", "slice_mm",
         "blur_mm", "noise_hu", "file_format", "phantom")  # fmt: skip
_TABLE = (
    ("ct_a", "Vendor A / 64-row", 69.0, 1.02, -6.0, 0.9, 1.5, 0.45, 12.0, "nifti", "B-MAS 200"),
    ("ct_b", "Vendor B / 128-row", 66.0, 0.97, 9.0, 0.95, 1.5, 0.4, 15.0, "dicom", "Mindways Model 3 CT"),
    ("ct_c", "Vendor C / 16-row", 73.0, 1.04, -14.0, 1.0, 2.0, 0.55, 10.0, "nifti", "QRM-BDC 6-rod"),
    ("ct_d", "Vendor D / 80-row", 71.0, 0.99, 4.0, 1.0, 2.0, 0.5, 13.0, "dicom", "B-MAS 200"),
    ("ct_e", "Vendor E / 256-row", 62.0, 1.05, 12.0, 0.9, 1.75, 0.4, 16.0, "nifti", "Mindways Model 3 CT"),
    ("ct_f", "Vendor F / 32-row", 75.0, 0.96, -10.0, 1.0, 2.0, 0.6, 11.0, "dicom", "QRM-BDC 6-rod"),
)  # fmt: skip
SCANNERS: dict[str, Scanner] = {row[0]: Scanner(**dict(zip(_KEYS, row, strict=True))) for row in _TABLE}  # type: ignore[arg-type]
"""Scanners by name."""

SITE_SCANNERS: dict[str, str] = {
    "site_a_csi": "ct_a",
    "site_b_csi": "ct_b",
    "site_c_cr": "ct_c",
    "site_d_raw": "ct_d",
    "site_e_ase": "ct_e",
    "site_f_portable": "ct_f",
}
"""Which scanner each site's CT comes from (site names as in :data:`hipbmd.sim.sites.SITE_PROFILES`)."""
