"""Speed and size of the virtual cohort simulator at its default resolution.

Simulates a small cohort (every site in turn) in worker processes and prints the throughput, the time per
case, the peak memory of a worker, and the disk use per case with its extrapolation to 200 cases. The
targets (issue: "at least 1 case per 2 s on 2 cores; a 200-case cohort fits in 5 GB") are printed beside
the figures, with the machine's load average before and after (other jobs on the cores slow every
figure; compare runs made under the same load). The peer is the simulator's own coarse test resolution
(3 mm voxels), run alongside it, to show what the default resolution costs. Then, per anatomy source
(``--anatomy``) and for the random styles (``--styles random``), ``--per-source`` cases at the default
resolution over all six sites.

Usage:  .venv/bin/python benchmarks/sim_speed.py [--n 12] [--workers 2] [--voxel-mm 1.0] [--per-source 6]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hipbmd.sim.case import simulate_case
from hipbmd.sim.case_draw import CaseRequest, Resolution
from hipbmd.sim.cohort import CohortSpec, resolve_sites, run_cases

TARGET_SECONDS_PER_CASE = 2.0
TARGET_GB_PER_200 = 5.0


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _warm_up(workers: int) -> None:
    """Compile and cache the numba kernels once, outside the timing."""
    with tempfile.TemporaryDirectory() as scratch, ProcessPoolExecutor(workers) as pool:
        coarse = Resolution(3.0, 4, 3.0)
        requests = [CaseRequest(f"warm{k}", 10_000 + k, "site_a_csi", 0, coarse) for k in range(workers)]
        list(pool.map(simulate_case, requests, [Path(scratch) / r.case_id for r in requests]))


def run(
    n: int,
    workers: int,
    resolution: Resolution,
    folder: Path,
    anatomy: str = "parametric",
    styles: str = "sites",
) -> tuple[float, int]:
    """Seconds and bytes for an ``n``-case cohort of one anatomy source and style mode."""
    spec = CohortSpec(n, resolve_sites("all"), 11, resolution, (anatomy,), styles=styles)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    for _ in run_cases(spec.requests(), folder, workers):
        pass
    return time.perf_counter() - start, _folder_bytes(folder)


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--voxel-mm", type=float, default=1.0)
    parser.add_argument("--per-source", type=int, default=6, help="cases per anatomy source (0: none)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    _warm_up(args.workers)
    scratch = Path(tempfile.mkdtemp(prefix="hipbmd-sim-speed-"))
    try:
        rows = []
        for label, resolution in (
            ("default", Resolution(args.voxel_mm, 1, 1.0)),
            ("coarse (tests)", Resolution(3.0, 4, 3.0)),
        ):
            seconds, size = run(args.n, args.workers, resolution, scratch / label.split()[0])
            rows.append((label, seconds, size))
        sources = _per_source(args, Resolution(args.voxel_mm, 1, 1.0), scratch) if args.per_source else []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _report(rows, args.n, args.workers)
    for label, seconds in sources:
        per_case = seconds / args.per_source
        verdict = "met" if per_case <= TARGET_SECONDS_PER_CASE else "NOT met"
        print(f"{label:32s} {per_case:7.2f} s/case ({args.per_source} cases; target {verdict})")
    print(f"load average (1 min) before and after: {load_before:.1f}, {os.getloadavg()[0]:.1f}")


def _per_source(args: argparse.Namespace, resolution: Resolution, scratch: Path) -> list[tuple[str, float]]:
    """Seconds for ``--per-source`` cases of each anatomy source (site styles), and of random styles."""
    from hipbmd.sim.anatomy_sources import ANATOMY_SOURCES

    runs = [(f"anatomy {name}", name, "sites") for name in ANATOMY_SOURCES]
    runs.append(("parametric, random styles", "parametric", "random"))
    timed = []
    for label, source, styles in runs:
        folder = scratch / label.replace(" ", "_").replace(",", "")
        seconds, _ = run(args.per_source, args.workers, resolution, folder, source, styles)
        timed.append((label, seconds))
    return timed


def _report(rows: list[tuple[str, float, int]], n: int, workers: int) -> None:
    print(f"{n} cases over all six sites, {workers} worker processes")
    print(
        f"{'resolution':16s} {'s/case':>7s} {'cases/s':>8s} {'MB/case':>8s} {'GB/200':>7s} {'vs coarse':>9s}"
    )
    coarse_per_case = rows[1][1] / n
    for label, seconds, size in rows:
        per_case, mb = seconds / n, size / n / 1e6
        ratio = per_case / coarse_per_case
        print(f"{label:16s} {per_case:7.2f} {1 / per_case:8.2f} {mb:8.1f} {mb * 0.2:7.2f} {ratio:8.1f}x")
    per_case, gb = rows[0][1] / n, rows[0][2] / n * 200 / 1e9
    speed = "met" if per_case <= TARGET_SECONDS_PER_CASE else "NOT met"
    size = "met" if gb <= TARGET_GB_PER_200 else "NOT met"
    print(f"target <= {TARGET_SECONDS_PER_CASE:.1f} s/case: {speed} ({per_case:.2f} s)")
    print(f"target 200 cases <= {TARGET_GB_PER_200:.0f} GB: {size} ({gb:.2f} GB)")
    print(f"peak memory of a worker process: {_worker_peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
