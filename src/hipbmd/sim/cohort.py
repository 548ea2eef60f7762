"""A virtual cohort: many cases over several sites, resumable, in parallel, with a manifest.

Layout (DESIGN.md)::

    cohort/cohort.json      the settings (seed, sites) and the hipbmd version that made it
    cohort/manifest.csv     one row per finished case: case_id, site, age, sex, side, ct, labels, xray, DXA
    cohort/cases/<case_id>/ one folder per case (see :mod:`hipbmd.sim.case`)

Case k goes to site k mod (number of sites) and is seeded by (seed, k) alone, so a cohort can be extended
(``n`` larger) or resumed after an interruption and every case comes out byte-for-byte the same. A case
being written lives in ``<case_id>.partial`` until complete; leftovers are discarded on resume.
"""

from __future__ import annotations

import csv
import ctypes
import json
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hipbmd import __version__
from hipbmd.errors import InputError
from hipbmd.sim.anatomy_sources import DEFAULT_ANATOMY_REGION, DEFAULT_ANATOMY_SOURCE, source_of_case
from hipbmd.sim.case import simulate_case
from hipbmd.sim.case_draw import DEFAULT_RESOLUTION, CaseRequest, Resolution
from hipbmd.sim.case_truth import CaseTruth
from hipbmd.sim.sites import SITE_PROFILES, held_out_sites, training_sites
from hipbmd.sim.truth import manifest_row

MANIFEST_COLUMNS = (
    "case_id", "site", "style", "anatomy", "age", "sex", "side", "ct", "labels", "xray",
    "dxa_neck_g_cm2", "dxa_total_hip_g_cm2",
)  # fmt: skip


@dataclass(frozen=True)
class CohortSpec:
    """What a cohort is: how many cases, from which sites and anatomy sources, from which seed."""

    n: int
    sites: tuple[str, ...]
    seed: int
    resolution: Resolution = DEFAULT_RESOLUTION
    anatomy: tuple[str, ...] = (DEFAULT_ANATOMY_SOURCE,)
    anatomy_region: str = DEFAULT_ANATOMY_REGION
    styles: str = "sites"
    implant_share: float = 0.0

    def requests(self) -> list[CaseRequest]:
        """One request per case, sites in turn, and anatomy sources in turn over each round of sites."""
        return [self.request(k) for k in range(self.n)]

    def request(self, number: int) -> CaseRequest:
        """The request of case ``number``."""
        site = self.sites[number % len(self.sites)]
        source = source_of_case(number, len(self.sites), self.anatomy)
        case_id = f"case_{number:05d}"
        return CaseRequest(
            case_id,
            number,
            site,
            self.seed,
            self.resolution,
            source,
            self.anatomy_region,
            self.styles,
            self.implant_share,
        )


def resolve_sites(names: str) -> tuple[str, ...]:
    """Site names from a comma list; "training", "held-out" and "all" name groups."""
    groups = {
        "training": [p.name for p in training_sites()],
        "held-out": [p.name for p in held_out_sites()],
        "all": list(SITE_PROFILES),
    }
    chosen: list[str] = []
    for name in (part.strip() for part in names.split(",") if part.strip()):
        if name in groups:
            chosen += groups[name]
        elif name in SITE_PROFILES:
            chosen.append(name)
        else:
            raise ValueError(
                f"unknown site {name!r} (known: {', '.join(SITE_PROFILES)}, training, held-out, all)"
            )
    if not chosen:
        raise ValueError("no sites given")
    return tuple(dict.fromkeys(chosen))


def check_settings(spec: CohortSpec, folder: Path) -> None:
    """Record the settings in a new cohort folder, or check that they match an existing one."""
    settings = folder / "cohort.json"
    record = {
        "seed": spec.seed,
        "sites": list(spec.sites),
        "resolution": asdict(spec.resolution),
        "anatomy": list(spec.anatomy),
        "anatomy_region": spec.anatomy_region,
        "styles": spec.styles,
        "implant_share": spec.implant_share,
    }
    if settings.exists():
        try:
            saved = json.loads(settings.read_text())
        except json.JSONDecodeError as error:
            raise InputError(settings, f"not a cohort settings file ({error})") from error
        saved.setdefault("anatomy", [DEFAULT_ANATOMY_SOURCE])  # cohorts made before anatomy sources
        saved.setdefault("anatomy_region", DEFAULT_ANATOMY_REGION)
        saved.setdefault("styles", "sites")
        saved.setdefault("implant_share", 0.0)
        if {key: saved.get(key) for key in record} != record:
            raise InputError(folder, f"holds a cohort with other settings {saved} (use a new folder)")
        return
    folder.mkdir(parents=True, exist_ok=True)
    about = {"hipbmd_version": __version__, "label_table": "hipbmd"}
    settings.write_text(json.dumps({**record, **about}, indent=1))


def pending_cases(spec: CohortSpec, folder: Path) -> list[CaseRequest]:
    """Cases not yet finished; half-written leftovers are removed."""
    cases = folder / "cases"
    for leftover in cases.glob("*.partial"):
        shutil.rmtree(leftover)
    return [request for request in spec.requests() if not (cases / request.case_id / "truth.json").exists()]


def _simulate(request: CaseRequest, folder: str) -> str:
    simulate_case(request, Path(folder) / "cases" / request.case_id)
    _release_freed_memory()
    return request.case_id


def _single_threaded() -> None:
    import numba

    numba.set_num_threads(1)


# glibc mallopt parameters (malloc.h) and the size up to which freed memory is kept for reuse (bytes).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEPT_BYTES = 2**31 - 1


def _reuse_freed_memory() -> None:
    """Let this process's allocator keep large freed blocks for reuse instead of unmapping them.

    A case makes many short-lived arrays of a whole anatomy grid (about 140 MB each). By default each is
    mapped afresh and every page faulted in and zeroed by the kernel, which costs about as much as the
    arithmetic on it; kept in the heap, the next array reuses the same pages. What a case freed is handed
    back when it ends (:func:`_release_freed_memory`). Where the C library is not glibc, nothing is
    changed.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _KEPT_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, _KEPT_BYTES)
    except (OSError, AttributeError):
        return


def _release_freed_memory() -> None:
    """Hand the memory freed by a finished case back to the system (glibc ``malloc_trim``).

    Kept blocks (:func:`_reuse_freed_memory`) serve the arrays of one case; patients differ in size, so
    the next case's arrays fit the old holes only in part and the heap would grow from case to case.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return


def _single_threaded_blas() -> None:
    """One BLAS thread per worker: the workers already share the cores.

    The simulator's matrix products are thin ((N, 3) points by 3 × 3 rotations, pixels by a few
    materials); with several BLAS threads per worker on shared cores they ran 30 times slower than
    on one.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _prepare_worker() -> None:
    """A worker process: single-threaded kernels (the workers share the cores) and reused memory."""
    _single_threaded()
    _single_threaded_blas()
    _reuse_freed_memory()


def run_cases(requests: list[CaseRequest], folder: Path, workers: int) -> Iterator[str]:
    """Simulate the cases (in ``workers`` processes when > 1); yields each case id as it finishes."""
    if workers <= 1:
        for request in requests:
            yield _simulate(request, str(folder))
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_prepare_worker) as pool:
        yield from pool.map(_simulate, requests, [str(folder)] * len(requests))


def simulate_cohort(
    spec: CohortSpec, folder: Path, workers: int = 1, on_case: Callable[[str, int, int], None] | None = None
) -> Path:
    """Simulate (or finish) a cohort; returns the manifest written. ``on_case(id, done, total)`` reports."""
    check_settings(spec, folder)
    todo = pending_cases(spec, folder)
    done = spec.n - len(todo)
    for case_id in run_cases(todo, folder, workers):
        done += 1
        if on_case is not None:
            on_case(case_id, done, spec.n)
    return write_manifest(folder)


def write_manifest(folder: Path) -> Path:
    """Rebuild ``manifest.csv`` from the finished cases."""
    rows: list[dict[str, Any]] = []
    for truth in sorted((folder / "cases").glob("*/truth.json")):
        rows.append(manifest_row(CaseTruth.read(truth.parent), truth.parent))
    path = folder / "manifest.csv"
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, path)
    return path
