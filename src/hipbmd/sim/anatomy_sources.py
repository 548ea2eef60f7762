"""Where a virtual patient's anatomy comes from: the sources a cohort draws its cases from.

A model trained on one generator's shapes learns that generator, so a cohort can mix several sources of
anatomy. Each case records its source in ``truth.json`` (``anatomy_source``) and in the manifest.

* ``parametric``: the smooth parametric primitives (femur, pelvis, trunk) with the adult ranges of
  :mod:`hipbmd.sim.population`.
* ``parametric_wide``: the same primitives over much wider ranges (neck–shaft angle 110–150°, head radius
  18–31 mm, BMI 16–50, neck cortex 0.6–3.6 mm, trochanters, osteophytes, pelvis size, bowel gas), with
  training and held-out regions (:mod:`hipbmd.sim.wide_population`, :mod:`hipbmd.sim.anatomy_regions`).
* ``real_ct``: the pelvis, spine and soft tissue of a real CT (TotalSegmentator's example, 3 mm) with
  synthetic femurs in its sockets and synthetic thighs below it (:mod:`hipbmd.sim.real_ct_population`).
* ``shape_model``: femurs drawn from a statistical shape model of 26 real adult femurs (the gias2 femur
  PCA, :mod:`hipbmd.sim.femur_shape_model`) and the surface of one real pelvis fitted to the hips
  (:mod:`hipbmd.sim.pelvis_mesh`); the parametric body and densities. Training region: every mode weight
  within ±2 SD; held-out: one of the first three modes at 2–3 SD.
"""

from __future__ import annotations

ANATOMY_SOURCES: tuple[str, ...] = ("parametric", "parametric_wide", "shape_model", "real_ct")
DEFAULT_ANATOMY_SOURCE = "parametric"
# Each source's parameter space is split into a region models are trained on and a region kept for
# testing them (its tails, defined per source in docs/simulator.md); a cohort draws from one of the two.
ANATOMY_REGIONS: tuple[str, ...] = ("training", "held-out")
DEFAULT_ANATOMY_REGION = "training"


def resolve_anatomy_sources(names: str) -> tuple[str, ...]:
    """Source names from a comma list ("all" names every source), in the order given, without repeats.

    Raises:
        ValueError: an unknown source, or none.
    """
    chosen: list[str] = []
    for name in (part.strip() for part in names.split(",") if part.strip()):
        if name == "all":
            chosen += ANATOMY_SOURCES
        elif name in ANATOMY_SOURCES:
            chosen.append(name)
        else:
            raise ValueError(f"unknown anatomy source {name!r} (known: {', '.join(ANATOMY_SOURCES)}, all)")
    if not chosen:
        raise ValueError("no anatomy source given")
    return tuple(dict.fromkeys(chosen))


def check_anatomy_region(region: str) -> str:
    """``region`` if it names a region of the sources' parameter spaces.

    Raises:
        ValueError: another name.
    """
    if region not in ANATOMY_REGIONS:
        raise ValueError(f"unknown anatomy region {region!r} (known: {', '.join(ANATOMY_REGIONS)})")
    return region


def source_of_case(number: int, n_sites: int, sources: tuple[str, ...]) -> str:
    """The anatomy source of case ``number``: sources in turn over each round of the sites.

    Case k goes to site k mod (number of sites), so taking the source from k div (number of sites) gives
    every site every source in turn, whatever the two counts are.
    """
    return sources[(number // max(n_sites, 1)) % len(sources)]
