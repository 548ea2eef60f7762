"""``hipbmd simulate``: a virtual hip cohort written the way a hospital hands its data over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hipbmd.io.output_paths import check_output_folder

CaseDoneCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SimulationResult:
    """What ``simulate`` wrote.

    Attributes:
        manifest: the cohort's ``manifest.csv``.
        sites: the sites the cases were drawn from, in turn.
        n: number of cases in the cohort.
        contact_sheet: the contact sheet PNG, None when not asked for or no case is finished.
    """

    manifest: Path
    sites: tuple[str, ...]
    n: int
    contact_sheet: Path | None


def simulate(
    output: str | Path,
    n: int = 20,
    sites: str = "training",
    seed: int = 0,
    workers: int = 1,
    contact_sheet: bool = True,
    voxel_mm: float = 1.0,
    xray_binning: int = 1,
    ct_scale: float = 1.0,
    on_case: CaseDoneCallback | None = None,
    anatomy: str = "parametric",
    anatomy_region: str = "training",
    styles: str = "sites",
    implant_share: float = 0.0,
) -> SimulationResult:
    """Simulate (or finish) a virtual hip cohort: CT with phantom, radiograph, DXA and truth per case.

    Mirrors ``hipbmd simulate -o cohort/ [--n N] [--sites S] [--seed S] [--workers W] [--voxel-mm V]
    [--xray-binning B] [--ct-scale F] [--anatomy A] [--anatomy-region R] [--styles S]
    [--implant-share F] [--no-contact-sheet]``. The same seed gives the same files; a folder holding a
    cohort with other settings is an error, and an unfinished one is finished.

    Args:
        output: the cohort folder.
        n: number of cases.
        sites: comma list of site names, or "training", "held-out", "all".
        seed: the cohort seed.
        workers: cases simulated in parallel (processes).
        contact_sheet: draw ``contact_sheet.png`` of the first cases.
        voxel_mm: the anatomy's voxel size, mm.
        xray_binning: bin the radiograph's pixels by this factor.
        ct_scale: scale the CT's voxel size by this factor.
        on_case: called with (case id, cases done, cases in all) as cases finish.
        anatomy: comma list of anatomy sources (:mod:`hipbmd.sim.anatomy_sources`), or "all"; they
            take turns over each round of the sites.
        anatomy_region: "training" or "held-out", the region of each source's parameter space drawn
            from (defined in docs/simulator.md).
        styles: "sites" (each site's own acquisition and processing), "random" (drawn per radiograph from
            the training families) or "random-held-out" (from the held-out families); the site still
            chooses the CT scanner.
        implant_share: the least share of patients with an implant in the hip DXA does not measure (0:
            the population's own, a few percent), for training an implant detector.

    Raises:
        ValueError: an unknown site, anatomy source or style; InputError: a folder holding another cohort.
    """
    from hipbmd.sim.anatomy_sources import check_anatomy_region, resolve_anatomy_sources
    from hipbmd.sim.case_draw import Resolution
    from hipbmd.sim.cohort import CohortSpec, check_settings, resolve_sites, simulate_cohort
    from hipbmd.sim.contact_sheet import write_contact_sheet
    from hipbmd.sim.random_style import check_style_mode

    folder = check_output_folder(output)
    resolution = Resolution(voxel_mm, xray_binning, ct_scale)
    sources, region = resolve_anatomy_sources(anatomy), check_anatomy_region(anatomy_region)
    style = check_style_mode(styles)
    spec = CohortSpec(n, resolve_sites(sites), seed, resolution, sources, region, style, implant_share)
    check_settings(spec, folder)
    manifest = simulate_cohort(spec, folder, workers, on_case)
    sheet = write_contact_sheet(folder, folder / "contact_sheet.png") if contact_sheet else None
    return SimulationResult(manifest, spec.sites, n, sheet)
