"""Helpers for the simulator's whole-case tests: the coarse resolution, the shared cohort, file hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hipbmd.sim.case_draw import Resolution
from hipbmd.sim.cohort import CohortSpec

# Coarse enough for a case in a few seconds on two cores; fine enough for every file to be meaningful.
COARSE = Resolution(voxel_mm=3.0, xray_binning=4, ct_scale=3.0)
# One case per kind of site: NIfTI CT + B-MAS (HA) + AP pelvis processed; DICOM CT + B-MAS + raw
# (FOR PROCESSING) AP pelvis; NIfTI CT + Mindways (K2HPO4) + AP hip.
SITES = ("site_a_csi", "site_d_raw", "site_e_ase")
SPEC = CohortSpec(n=len(SITES), sites=SITES, seed=20240611, resolution=COARSE)


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by path relative to it."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def file_stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """(inode, modification time in ns) of every file under ``folder``: changes when a file is rewritten."""
    return {
        str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
