"""How real the virtual cohort looks: its radiographs beside real ones, and its bone density beside surveys.

Two figures and a table:

* ``docs/images/sim_realism_radiographs.png``: one simulated case per site (default resolution, simulated
  in a temporary folder) next to the real radiographs shipped in ``data/real``, each shown as a DICOM
  viewer would: through the file's own VOI window (PS3.3 §C.11.2.1.2), or over the full stored range
  when the file has none;
* ``docs/images/sim_realism_density.png``: femoral-neck DXA aBMD and T-score histograms of a cohort
  (500 cases by default), by sex and age band, with the population means the simulator targets;
* the prevalence of osteoporosis (T ≤ −2.5 at the femoral neck) per sex and age band against the
  targets, printed and saved to ``benchmarks/results_sim_realism.txt``.

The density part does not simulate whole cases: :func:`hipbmd.sim.case_draw.draw_case` gives the same patient,
CT-aBMD and DXA values as the full simulation of that case, in about a second. T = (aBMD − 0.858)/0.120
(NHANES III young white women, Hologic; Looker et al., Osteoporos Int 1998;8:468–489), for women and men.

Usage:  .venv/bin/python benchmarks/sim_realism.py [--part all|radiographs|density] [--n 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from hipbmd.io.dicom_file import read_dicom
from hipbmd.io.radiograph import read_radiograph
from hipbmd.sim.case import simulate_case
from hipbmd.sim.case_draw import CaseRequest, case_streams, draw_case
from hipbmd.sim.population import YOUNG_NECK_MEAN_G_CM2, YOUNG_NECK_SD_G_CM2, Sex, mean_neck_t_score
from hipbmd.sim.sites import SITE_PROFILES

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
RESULTS = ROOT / "benchmarks" / "results_sim_realism.txt"
REAL = ROOT / "data" / "real"
RADIOGRAPH_SEED = 1  # case k of this seed goes to site k, as in `hipbmd simulate --sites all --seed 1`
DENSITY_SEED = 2024
OSTEOPOROSIS_T = -2.5
T_SD = 1.0  # spread of the target T-score about its age mean (population.py)
SEXES: tuple[Sex, Sex] = ("F", "M")
AGE_BANDS = ((40.0, 50.0), (50.0, 60.0), (60.0, 70.0), (70.0, 80.0), (80.0, 200.0))
# Osteoporosis prevalence at the femoral neck or lumbar spine, NHANES 2005–2010 (Wright NC et al.,
# J Bone Miner Res 2014;29:2520–2526): women by decade from 50, men 50 and over (not given by decade).
SURVEY_WOMEN = {(50.0, 60.0): 6.8, (60.0, 70.0): 12.3, (70.0, 80.0): 25.7, (80.0, 200.0): 34.9}
SURVEY_MEN_OVER_50 = 4.3
REAL_FILES = (
    ("radoss_ddh_xray/331_DDH_1.dcm", "infant AP pelvis, DX (from JPEG)"),
    ("radoss_ddh_xray/331_DDH_10.dcm", "infant AP pelvis, DX (from JPEG)"),
    ("radoss_ddh_xray/331_DDH_115.dcm", "infant AP pelvis, DX (from JPEG)"),
    ("fodicom_cr/CR-MONO1-10-chest", "adult PA chest, Fuji CR"),
    ("fodicom_cr/CR-ModalitySequenceLUT.dcm", "dental panoramic, CR"),
    ("deid_data_dx/cat_DX.dcm.gz", "cat thorax, Agfa DX"),
)


# --------------------------------------------------------------------------- radiographs


def voi_linear(values: npt.NDArray[np.floating], center: float, width: float) -> npt.NDArray[np.float64]:
    """The DICOM linear VOI function onto [0, 1] (PS3.3 §C.11.2.1.2.1, WindowCenter and WindowWidth)."""
    x = np.asarray(values, dtype=np.float64)
    return np.clip((x - (center - 0.5)) / max(width - 1.0, 1.0) + 0.5, 0.0, 1.0)


def displayed(path: Path) -> tuple[npt.NDArray[np.float64], str]:
    """A radiograph as a viewer shows it, bone bright, and a note on the window used.

    The reader returns bone-bright values (MONOCHROME1 inverted as low + high − x over the modality output
    range), so a MONOCHROME1 file's window centre c becomes low + high − c.
    """
    radiograph = read_radiograph(path)
    values, meta = radiograph.array, radiograph.meta
    centers, widths = meta.get("window_center"), meta.get("window_width")
    if not centers or not widths:
        low, high = float(values.min()), float(values.max())
        return voi_linear(values, (low + high) / 2.0, high - low + 1.0), "no VOI window: full range"
    center, width = float(centers[0]), float(widths[0])
    if meta.get("photometric_interpretation") == "MONOCHROME1":
        low, high = _modality_range(path, int(meta["bits_stored"]))
        center = low + high - center
    return voi_linear(values, center, width), f"file window {float(centers[0]):g}/{width:g}"


def _modality_range(path: Path, bits_stored: int) -> tuple[float, float]:
    """Output range of the Rescale Slope/Intercept over the stored range (no LUT sequence needed here)."""
    dataset = read_dicom(path)
    slope, intercept = float(dataset.get("RescaleSlope", 1.0)), float(dataset.get("RescaleIntercept", 0.0))
    ends = (intercept, intercept + slope * (2**bits_stored - 1))
    return min(ends), max(ends)


def simulate_site_cases(folder: Path) -> list[tuple[Path, str]]:
    """One case per site at the default resolution; (xray.dcm, label) per site."""
    out = []
    for number, (name, profile) in enumerate(SITE_PROFILES.items()):
        start = time.perf_counter()
        row = simulate_case(CaseRequest(f"case_{number:05d}", number, name, RADIOGRAPH_SEED), folder / name)
        processing = profile.processing
        label = (
            f"{name} ({'held out' if profile.held_out else 'training'})\n"
            f"{profile.detector.kind}, {profile.view}\n"
            f"{processing.presentation}, {processing.bits_stored} bit"
            f"{', MONOCHROME1' if processing.monochrome1 else ''}\n"
            f"{row['sex']} {float(row['age']):.0f} y"
        )
        out.append((folder / name / "xray.dcm", label))
        print(f"  simulated {name} in {time.perf_counter() - start:.0f} s", flush=True)
    return out


def draw_radiographs(simulated: list[tuple[Path, str]], path: Path) -> None:
    """Simulated radiographs (top row) above the real ones (bottom row), each through its own window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = [(REAL / name, f"{name.split('/')[0]}\n{what}") for name, what in REAL_FILES]
    rows = (("simulated", simulated), ("real (data/real)", real))
    figure, axes = plt.subplots(2, 6, figsize=(24, 10.5))
    for row_axes, (row_name, items) in zip(axes, rows, strict=True):
        for axis, (file, label) in zip(row_axes, items, strict=True):
            image, window = displayed(file)
            axis.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="lanczos")
            axis.set_title(f"{label}\n{window}", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
        row_axes[0].set_ylabel(row_name, fontsize=12)
    figure.text(
        0.5,
        0.005,
        "Infant pelvis radiographs: Fraiwan M, Al-Kofahi N, Hanatleh O, Ibnian A (2022), A dataset of DDH "
        "x-ray images, Mendeley Data V2, doi:10.17632/jf3pv98m9g.2, CC BY 4.0. Chest and dental CR: fo-dicom "
        "test data (MS-PL). Cat DX: deid-data 0.0.20 (MIT).",
        ha="center",
        fontsize=8,
    )
    figure.tight_layout(rect=(0.0, 0.02, 1.0, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=72)
    plt.close(figure)


# --------------------------------------------------------------------------- density


@dataclass(frozen=True)
class Draw:
    """One virtual patient's demographics, target T-score and simulated DXA (femoral neck, total hip)."""

    number: int
    age_years: float
    sex: Sex
    target_t_score: float
    neck_g_cm2: float
    total_hip_g_cm2: float

    @property
    def neck_t_score(self) -> float:
        """T = (aBMD − 0.858)/0.120 at the femoral neck."""
        return (self.neck_g_cm2 - YOUNG_NECK_MEAN_G_CM2) / YOUNG_NECK_SD_G_CM2


def draw_one(seed: int, number: int) -> Draw:
    """Case ``number`` of a cohort with ``seed``: the same values as its full simulation."""
    draw = draw_case(
        CaseRequest(f"case_{number:05d}", number, "site_a_csi", seed), case_streams(seed, number)
    )
    patient = draw.patient
    return Draw(
        number,
        patient.age_years,
        patient.sex,
        patient.target_neck_t_score,
        draw.dxa_g_cm2["neck"],
        draw.dxa_g_cm2["total_hip"],
    )


def draw_cohort(seed: int, n: int, workers: int) -> list[Draw]:
    """``n`` draws in ``workers`` processes, printing progress."""
    draws: list[Draw] = []
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        for draw in pool.map(draw_one, [seed] * n, range(n), chunksize=4):
            draws.append(draw)
            if len(draws) % 25 == 0 or len(draws) == n:
                elapsed = time.perf_counter() - start
                print(f"  {len(draws)}/{n} cases, {elapsed:.0f} s", flush=True)
    return draws


def save_draws(draws: list[Draw], path: Path) -> None:
    """The per-case numbers as CSV."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("number", "age_years", "sex", "target_t_score", "neck_g_cm2", "total_hip_g_cm2"))
        for d in draws:
            writer.writerow(
                (
                    d.number,
                    d.age_years,
                    d.sex,
                    f"{d.target_t_score:.4f}",
                    f"{d.neck_g_cm2:.4f}",
                    f"{d.total_hip_g_cm2:.4f}",
                )
            )


def load_draws(path: Path) -> list[Draw]:
    """Per-case numbers saved by :func:`save_draws`."""
    with path.open(newline="") as handle:
        return [
            Draw(
                int(row["number"]),
                float(row["age_years"]),
                "M" if row["sex"] == "M" else "F",
                float(row["target_t_score"]),
                float(row["neck_g_cm2"]),
                float(row["total_hip_g_cm2"]),
            )
            for row in csv.DictReader(handle)
        ]


def band_name(band: tuple[float, float]) -> str:
    """The band as "50–59" or "80+"."""
    low, high = band
    return f"{low:.0f}+" if high > 150 else f"{low:.0f}–{high - 1:.0f}"


def in_band(draws: list[Draw], sex: Sex, band: tuple[float, float]) -> list[Draw]:
    """The draws of one sex whose age lies in [low, high)."""
    return [d for d in draws if d.sex == sex and band[0] <= d.age_years < band[1]]


def model_prevalence_pct(ages: list[float], sex: Sex) -> float:
    """Expected % with T ≤ −2.5 if every T were drawn from the target N(mean T(age), 1) (population.py)."""
    if not ages:
        return float("nan")
    mean_t = np.array([mean_neck_t_score(age, sex) for age in ages])
    return float(100.0 * norm.cdf((OSTEOPOROSIS_T - mean_t) / T_SD).mean())


def prevalence_table(draws: list[Draw]) -> list[str]:
    """Per sex and age band: n, neck aBMD, mean T, % with T ≤ −2.5 (simulated, drawn, targeted, surveyed)."""
    header = (
        f"{'sex':<5}{'age':<7}{'n':>5}{'neck aBMD g/cm2':>17}{'T':>7}{'T target':>10}"
        f"{'% T<=-2.5 (95% CI)':>22}{'% drawn':>9}{'% target':>10}{'% survey':>10}"
    )
    lines = [header, "-" * len(header)]
    for sex in SEXES:
        for band in AGE_BANDS:
            survey = SURVEY_WOMEN.get(band) if sex == "F" else None
            lines.append(_row(sex, band_name(band), in_band(draws, sex, band), survey))
        over_50 = [d for d in draws if d.sex == sex and d.age_years >= 50.0]
        lines.append(_row(sex, "50+", over_50, SURVEY_MEN_OVER_50 if sex == "M" else None))
    lines.append(_row("both", "all", draws, None))
    return lines


def wilson_interval_pct(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion, in % (Wilson EB, J Am Stat Assoc 1927;22:209–212)."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100.0 * max(centre - half, 0.0), 100.0 * min(centre + half, 1.0)


def _row(sex: str, band: str, group: list[Draw], survey: float | None) -> str:
    """One line of the table.

    % T<=-2.5: the simulated DXA; % drawn: the patients' target T-scores as drawn; % target: expected if
    every T were drawn from N(mean T(age, sex), 1).
    """
    if not group:
        return f"{sex:<5}{band:<7}{0:>5}"
    neck = np.array([d.neck_g_cm2 for d in group])
    t_scores = np.array([d.neck_t_score for d in group])
    targets = np.array([d.target_t_score for d in group])
    expected = float(np.mean([model_prevalence_pct([d.age_years], d.sex) for d in group]))
    hits = int(np.sum(t_scores <= OSTEOPOROSIS_T))
    low, high = wilson_interval_pct(hits, len(group))
    observed = f"{100.0 * hits / len(group):.1f} ({low:.1f}–{high:.1f})"
    drawn = 100.0 * float(np.mean(targets <= OSTEOPOROSIS_T))
    spread = float(neck.std(ddof=1)) if len(group) > 1 else 0.0
    survey_text = f"{survey:.1f}" if survey is not None else "-"
    return (
        f"{sex:<5}{band:<7}{len(group):>5}{neck.mean():>10.3f} ± {spread:.3f}{t_scores.mean():>7.2f}"
        f"{targets.mean():>10.2f}{observed:>22}{drawn:>9.1f}{expected:>10.1f}{survey_text:>10}"
    )


def expected_counts(ages: list[float], sex: Sex, t_bins: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Cases per T-score bin if each T were drawn from the target N(mean T(age, sex), 1) (population.py)."""
    means = np.array([mean_neck_t_score(age, sex) for age in ages])[:, None]
    cdf = norm.cdf((t_bins[None, :] - means) / T_SD)
    return np.asarray(np.diff(cdf, axis=1).sum(axis=0), dtype=np.float64)


def draw_density(draws: list[Draw], path: Path) -> None:
    """Neck aBMD (top) and T-score (bottom) histograms per age band, women and men overlaid, with targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(AGE_BANDS), figsize=(4.2 * len(AGE_BANDS), 7.8), sharex="row")
    for column, band in enumerate(AGE_BANDS):
        _draw_band(axes[0, column], axes[1, column], draws, band)
    axes[0, 0].set_ylabel("cases")
    axes[1, 0].set_ylabel("cases")
    figure.suptitle(
        f"Simulated femoral-neck DXA of {len(draws)} cases (bars) against the targeted population (lines: "
        "Wright et al. 2014 prevalences for women, men 0.7 SD higher; dashed: its mean).\n"
        "Dotted: young-adult mean 0.858 g/cm² (Looker et al. 1998); black: T = −2.5.",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _draw_band(top: Any, bottom: Any, draws: list[Draw], band: tuple[float, float]) -> None:
    """One age band: aBMD histogram on ``top``, T-score histogram on ``bottom``."""
    abmd_bins = np.linspace(0.3, 1.3, 26)
    t_bins = (abmd_bins - YOUNG_NECK_MEAN_G_CM2) / YOUNG_NECK_SD_G_CM2
    notes = []
    for sex, colour in zip(SEXES, ("tab:red", "tab:blue"), strict=True):
        group = in_band(draws, sex, band)
        if not group:
            continue
        ages = [d.age_years for d in group]
        label = f"{'women' if sex == 'F' else 'men'} (n={len(group)})"
        expected = expected_counts(ages, sex, t_bins)
        target_t = float(np.mean([mean_neck_t_score(age, sex) for age in ages]))
        for axis, values, bins, mean in (
            (
                top,
                [d.neck_g_cm2 for d in group],
                abmd_bins,
                YOUNG_NECK_MEAN_G_CM2 + YOUNG_NECK_SD_G_CM2 * target_t,
            ),
            (bottom, [d.neck_t_score for d in group], t_bins, target_t),
        ):
            axis.hist(values, bins, color=colour, alpha=0.4, label=label)
            axis.stairs(expected, bins, color=colour, linewidth=1.5)
            axis.axvline(mean, color=colour, linestyle="--", linewidth=1.2)
        observed = 100.0 * float(np.mean([d.neck_t_score <= OSTEOPOROSIS_T for d in group]))
        note = f"{sex}: {observed:.0f} % (target {model_prevalence_pct(ages, sex):.0f} %"
        survey = SURVEY_WOMEN.get(band) if sex == "F" else None
        notes.append((note + (f", survey {survey:.1f} %)" if survey is not None else ")"), colour))
    box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0}
    notes.append(("with T ≤ −2.5", "black"))
    for k, (note, colour) in enumerate(notes):
        y = 0.97 - 0.08 * k
        bottom.text(0.02, y, note, transform=bottom.transAxes, fontsize=8, color=colour, va="top", bbox=box)
    for axis in (top, bottom):
        axis.set_ylim(0.0, axis.get_ylim()[1] * 1.35)
    bottom.axvline(OSTEOPOROSIS_T, color="black", linewidth=1.0)
    top.axvline(YOUNG_NECK_MEAN_G_CM2, color="grey", linewidth=1.0, linestyle=":")
    top.set_title(f"age {band_name(band)}")
    top.set_xlabel("femoral-neck DXA aBMD (g/cm²)")
    bottom.set_xlabel("femoral-neck T-score")
    top.legend(fontsize=8, loc="upper right")


def write_results(lines: list[str], n: int, seed: int, how: str, path: Path) -> None:
    """Save the table with how it was made."""
    header = [
        "Simulated femoral-neck DXA against the population the simulator targets (benchmarks/sim_realism.py)",
        f"{n} cases, cohort seed {seed}, {how}",
        "T = (neck aBMD - 0.858)/0.120 (NHANES III young white women, Looker et al. 1998), women and men.",
        "% T<=-2.5: simulated DXA, with a Wilson 95 % interval; % drawn: the same for the target",
        "T-scores as drawn for these patients; % target: expected share if every T were drawn from",
        "N(mean T(age, sex), 1), the population.py targets; % survey: NHANES 2005-2010 osteoporosis at the",
        "femoral neck or lumbar spine (Wright et al., J Bone Miner Res 2014;29:2520-2526), women by decade",
        "and men over 50.",
        "",
    ]
    path.write_text("\n".join(header + lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "radiographs", "density"), default="all")
    parser.add_argument("--n", type=int, default=500, help="cases of the density cohort")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=DENSITY_SEED, help="seed of the density cohort")
    parser.add_argument("--draws", type=Path, help="CSV of per-case draws: read if it exists, else written")
    args = parser.parse_args()
    if args.part in ("all", "radiographs"):
        print("radiographs: one case per site", flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            simulated = simulate_site_cases(Path(scratch))
            draw_radiographs(simulated, IMAGES / "sim_realism_radiographs.png")
        print(f"wrote {IMAGES / 'sim_realism_radiographs.png'}")
    if args.part in ("all", "density"):
        if args.draws is not None and args.draws.exists():
            draws = load_draws(args.draws)
            how = f"per-case values read from {args.draws.name} (drawn earlier by this script)"
        else:
            print(f"density: {args.n} cases in {args.workers} processes", flush=True)
            start = time.perf_counter()
            draws = draw_cohort(args.seed, args.n, args.workers)
            how = f"drawn with hipbmd.sim.case_draw.draw_case in {time.perf_counter() - start:.0f} s"
            how += f" ({args.workers} processes)"
            if args.draws is not None:
                save_draws(draws, args.draws)
        lines = prevalence_table(draws)
        print("\n".join(lines))
        write_results(lines, len(draws), args.seed, how, RESULTS)
        draw_density(draws, IMAGES / "sim_realism_density.png")
        print(f"wrote {RESULTS} and {IMAGES / 'sim_realism_density.png'}")


if __name__ == "__main__":
    main()
