"""DRR speed, memory and accuracy: hipbmd's renderer against DiffDRR 0.6.1, both on the CPU, in one run.

Every configuration runs in its own subprocess so that its peak RSS is its own. Printed per volume and
image size: ms per image, rays per second, peak RSS (MB), and the ratio to DiffDRR's fastest configuration;
plus hipbmd's relative error per pixel against the slow exact Siddon reference (hipbmd.drr.reference).

Usage (DiffDRR is in the ``benchmark`` extra; install it in the same pip command as torch==2.13.0):
    .venv/bin/pip install torch==2.13.0 -e ".[benchmark]"
    .venv/bin/python benchmarks/drr_speed.py [--quick] [--no-diffdrr]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL_CT = ROOT / "data" / "real" / "totalsegmentator_example_ct" / "example_ct.nii.gz"
SDD_MM, SOD_MM = 1020.0, 850.0
SYNTHETIC_SHAPE = (512, 512, 300)
DIFFDRR_CONFIGS = (("trilinear", None), ("trilinear", 128), ("siddon", None), ("siddon", 128))


def synthetic_ct(shape: tuple[int, int, int] = SYNTHETIC_SHAPE) -> tuple[np.ndarray, np.ndarray]:
    """A 0.7 × 0.7 × 1 mm HU volume: air, an elliptic body of soft tissue, two bone rods; RAS affine."""
    spacing = np.array([0.7, 0.7, 1.0])
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -spacing * (np.array(shape) - 1) / 2
    x = (np.arange(shape[0]) - (shape[0] - 1) / 2) * spacing[0]
    y = (np.arange(shape[1]) - (shape[1] - 1) / 2) * spacing[1]
    plane = np.full(shape[:2], -1000.0, np.float32)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    plane[(xx / 160) ** 2 + (yy / 110) ** 2 <= 1] = 40.0
    for centre in (-80.0, 80.0):
        plane[(xx - centre) ** 2 + yy**2 <= 15**2] = 900.0
    volume = np.repeat(plane[:, :, None], shape[2], axis=2)
    volume += np.linspace(0, 20, shape[2], dtype=np.float32)[None, None, :]
    return volume, affine


def load_volume(name: str) -> tuple[np.ndarray, np.ndarray]:
    """HU volume and its RAS affine: "real" (the abdomen–pelvis CT) or "synthetic" (512×512×300)."""
    if name == "synthetic":
        return synthetic_ct()
    from hipbmd.io import read_ct

    ct = read_ct(REAL_CT)
    return ct.array, ct.affine


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_hipbmd(volume_name: str, size: int, repeats: int) -> dict[str, float]:
    """Time hipbmd's exact renderer (after a warm-up that compiles and lays out the volume)."""
    from hipbmd.drr.geometry import PoseParameters
    from hipbmd.drr.reference import siddon_reference
    from hipbmd.drr.render import Projector
    from hipbmd.types import Camera, Volume

    values, affine = load_volume(volume_name)
    values *= 1e-5  # in place: HU-like numbers to a positive attenuation-like scale, no extra copy
    values += 0.01
    volume = Volume(values, affine, "1/mm")
    centre = volume.voxel_to_world_mm((np.array(volume.shape) - 1) / 2.0)
    spacing = 512 / size * 0.8
    pose = PoseParameters(isocenter_mm=tuple(centre), sod_mm=SOD_MM).to_pose()
    camera = Camera((size, size), (spacing, spacing), SDD_MM, pose=pose)
    rows, cols, exact = _reference_pixels(volume, camera, siddon_reference)
    start = time.perf_counter()
    projector = Projector(volume)
    image = projector.render(camera).images[0]
    first_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        image = projector.render(camera).images[0]
        times.append(time.perf_counter() - start)
    relative = np.abs(image[rows, cols] - exact) / np.maximum(np.abs(exact), 1e-12)
    errors = {
        "max_rel_error_pct": 100 * float(relative.max()),
        "p99_rel_error_pct": 100 * float(np.percentile(relative, 99)),
    }
    return {
        "ms": 1000 * float(np.median(times)),
        "first_ms": 1000 * first_s,
        "rays": size * size,
        "peak_rss_mb": peak_rss_mb(),
        **errors,
    }


def _reference_pixels(volume, camera, reference):  # type: ignore[no-untyped-def]
    """Exact integrals of 300 random pixels by the slow, independent Siddon reference."""
    from hipbmd.drr.geometry import pixel_rays

    rng = np.random.default_rng(0)
    rows = rng.integers(0, camera.shape[0], 300)
    cols = rng.integers(0, camera.shape[1], 300)
    starts, ends = pixel_rays(camera, rows, cols)
    exact = np.array(
        [reference(volume.array, volume.affine, s, e) for s, e in zip(starts, ends, strict=True)]
    )
    return rows, cols, exact


def run_diffdrr(volume_name: str, size: int, renderer: str, patch: int | None) -> dict[str, float]:
    """Time one DiffDRR 0.6.1 rendering of the same volume and detector (it normalises density itself)."""
    import torch
    import torchio
    from diffdrr.data import read
    from diffdrr.drr import DRR

    torch.set_num_threads(2)
    values, affine = load_volume(volume_name)
    subject = read(torchio.ScalarImage(tensor=torch.as_tensor(values)[None], affine=affine), orientation="AP")
    spacing = 512 / size * 0.8
    drr = DRR(subject, sdd=SDD_MM, height=size, delx=spacing, renderer=renderer, patch_size=patch)
    rotations = torch.zeros(1, 3)
    translations = torch.tensor([[0.0, SOD_MM, 0.0]])
    with torch.no_grad():
        start = time.perf_counter()
        drr(rotations, translations, parameterization="euler_angles", convention="ZXY")
        elapsed = time.perf_counter() - start
    return {"ms": 1000 * elapsed, "rays": size * size, "peak_rss_mb": peak_rss_mb()}


def worker(args: argparse.Namespace) -> None:
    if args.worker == "hipbmd":
        result = run_hipbmd(args.volume, args.size, args.repeats)
    else:
        patch = None if args.patch == 0 else args.patch
        result = run_diffdrr(args.volume, args.size, args.worker, patch)
    print(json.dumps(result))


def spawn(*options: str) -> dict[str, float] | None:
    done = subprocess.run([sys.executable, __file__, *options], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  ! {' '.join(options)} failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", choices=["hipbmd", "siddon", "trilinear"])
    parser.add_argument("--volume", default="real", choices=["real", "synthetic"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--patch", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="256² only, real CT only")
    parser.add_argument("--no-diffdrr", action="store_true", help="measure hipbmd only")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    volumes = ["real"] if args.quick else ["real", "synthetic"]
    sizes = [256] if args.quick else [256, 512]
    header = (
        f"{'volume':10} {'size':>5} {'renderer':26} {'ms/image':>10} {'Mrays/s':>8} {'peak MB':>8} "
        f"{'vs best DiffDRR':>16}"
    )
    print(header)
    print("-" * len(header))
    for volume in volumes:
        for size in sizes:
            ours = spawn("--worker", "hipbmd", "--volume", volume, "--size", str(size))
            theirs = {}
            if not args.no_diffdrr:
                for renderer, patch in DIFFDRR_CONFIGS:
                    name = f"diffdrr {renderer}" + (f" patch {patch}" if patch else "")
                    theirs[name] = spawn(
                        "--worker",
                        renderer,
                        "--volume",
                        volume,
                        "--size",
                        str(size),
                        "--patch",
                        str(patch or 0),
                    )
            measured = [r["ms"] for r in theirs.values() if r]
            best = min(measured) if measured else None
            for name, result in [("hipbmd (exact Siddon)", ours), *theirs.items()]:
                if result is None:
                    print(f"{volume:10} {size:5} {name:26} {'failed':>10}")
                    continue
                ratio = f"{best / result['ms']:.1f}x" if best else "-"
                print(
                    f"{volume:10} {size:5} {name:26} {result['ms']:10.1f} "
                    f"{result['rays'] / result['ms'] / 1e3:8.2f} {result['peak_rss_mb']:8.0f} {ratio:>16}"
                )
            if ours:
                print(
                    f"{'':10} {'':5} hipbmd first call (compile + layout) {ours['first_ms']:.0f} ms; "
                    f"error vs exact Siddon reference: max {ours['max_rel_error_pct']:.2e} %, "
                    f"p99 {ours['p99_rel_error_pct']:.2e} %"
                )


if __name__ == "__main__":
    main()
