"""Contact sheets of the simulator's anatomy sources and random styles, beside the real radiographs.

For each anatomy source, one case per site (``hipbmd simulate --n 24 --sites all --anatomy all --seed 1``:
case k goes to site k mod 6, and the sources take turns over each round of the six sites) above the real
radiographs shipped in ``data/real``, each shown through its own VOI window as a viewer would; and one sheet
of random styles (``hipbmd simulate --n 16 --sites training --styles random --anatomy all --seed 9``: four
cases of each source, every acquisition, processing, framing and export drawn per image). Writes
``docs/images/sim_source_<source>.png`` and ``docs/images/sim_random_styles.png``.

Usage:  .venv/bin/python benchmarks/sim_sources.py [--work DIR] [--workers 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from hipbmd.io.radiograph import read_radiograph
from hipbmd.sim.anatomy_sources import ANATOMY_SOURCES
from hipbmd.sim.case_truth import CaseTruth

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sim_realism import IMAGES, REAL, REAL_FILES, displayed

SOURCES_COMMAND = ("--n", "24", "--sites", "all", "--anatomy", "all", "--seed", "1")
STYLES_COMMAND = ("--n", "16", "--sites", "training", "--styles", "random", "--anatomy", "all", "--seed", "9")
CREDIT = (
    "Bottom row, real: infant pelves from Fraiwan M et al. (2022), A dataset of DDH x-ray images, Mendeley "
    "Data V2, doi:10.17632/jf3pv98m9g.2, CC BY 4.0; chest and dental CR: fo-dicom test data (MS-PL); cat DX: "
    "deid-data 0.0.20 (MIT)."
)


def simulate(folder: Path, arguments: tuple[str, ...], workers: int) -> None:
    """``hipbmd simulate`` into ``folder`` (resumed if it exists)."""
    command = [
        sys.executable,
        "-m",
        "hipbmd.cli",
        "simulate",
        "-o",
        str(folder),
        *arguments,
        "--workers",
        str(workers),
    ]
    subprocess.run([*command, "--no-contact-sheet"], check=True)


def cases_of(cohort: Path) -> list[Path]:
    """The finished case folders, in order."""
    return sorted(p for p in (cohort / "cases").iterdir() if (p / "truth.json").exists())


def shown(case: Path) -> tuple[np.ndarray, str]:
    """A case's radiograph as a viewer shows it (a PNG or JPEG export over its full range) and its label."""
    truth = CaseTruth.read(case)
    path = case / truth.radiograph_file
    if path.suffix == ".dcm":
        image, window = displayed(path)
    else:
        values = read_radiograph(path).array
        image, window = (values - values.min()) / max(float(np.ptp(values)), 1e-6), "export, full range"
    style = truth.style_family if truth.style_family != "site" else truth.site
    return image, f"{case.name} · {truth.anatomy_source}\n{style} · {path.name}\n{window}"


def draw_sheet(simulated: list[tuple[np.ndarray, str]], with_real: bool, path: Path, title: str) -> None:
    """Simulated radiographs in the first rows, the real ones of ``data/real`` in the last when asked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 6 if with_real else 4
    real = [displayed(REAL / name)[0] for name, _ in REAL_FILES] if with_real else []
    rows = -(-len(simulated) // columns) + (1 if with_real else 0)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4.2 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, (image, label) in zip(axes.ravel(), simulated, strict=False):
        axis.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="lanczos")
        axis.set_title(label, fontsize=9)
    for axis, image, (name, what) in zip(axes[-1], real, REAL_FILES, strict=False):
        axis.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="lanczos")
        axis.set_title(f"real: {name.split('/')[0]}\n{what}", fontsize=9)
    figure.suptitle(title, fontsize=13)
    if with_real:
        figure.text(0.5, 0.005, CREDIT, ha="center", fontsize=8)
    figure.tight_layout(rect=(0.0, 0.02, 1.0, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=60)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("sim_sources_work"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sources, styles = args.work / "sources", args.work / "styles"
    simulate(sources, SOURCES_COMMAND, args.workers)
    simulate(styles, STYLES_COMMAND, args.workers)
    by_source: dict[str, list[tuple[np.ndarray, str]]] = {name: [] for name in ANATOMY_SOURCES}
    for case in cases_of(sources):
        by_source[CaseTruth.read(case).anatomy_source].append(shown(case))
    for name, images in by_source.items():
        title = f"anatomy source '{name}': one case per site (hipbmd simulate {' '.join(SOURCES_COMMAND)})"
        draw_sheet(images, True, IMAGES / f"sim_source_{name}.png", title)
        print(f"wrote {IMAGES / f'sim_source_{name}.png'}")
    title = f"random styles (hipbmd simulate {' '.join(STYLES_COMMAND)})"
    draw_sheet([shown(case) for case in cases_of(styles)], False, IMAGES / "sim_random_styles.png", title)
    print(f"wrote {IMAGES / 'sim_random_styles.png'}")


if __name__ == "__main__":
    main()
