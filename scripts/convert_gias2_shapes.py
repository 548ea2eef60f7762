"""Convert the femur shape model and the pelvis surface shipped with gias2 0.7.14 into plain arrays.

Writes ``src/hipbmd/resources/anatomy/gias2_femur_pca.npz`` and ``gias2_pelvis.npz``. Nothing is
unpickled at run time: this script reads gias2's files once, without importing gias2.

* The femur PCA (``femur_left_rigid_LLP26.pc``) is a protocol-0 pickle of a dict holding numpy arrays;
  it is read with an Unpickler that resolves only numpy's array reconstructors (any other global fails).
* The element topology of its 634 nodes (``femur_left_quartic_flat.mesh``) is a Berkeley-DB hash file of
  pickled values. Its pages are parsed here directly from the documented hash page layout (a header of
  26 bytes, then 2-byte item offsets; key and data items alternate; type 1 = inline bytes, type 3 = a
  chain of overflow pages), so no Berkeley-DB library is needed. The mesh holds 54 quartic Lagrange
  elements (26 triangles of 15 nodes, 22 quadrilaterals of 5×5 and 6 of 5×4 nodes) and, for every
  element point, the element points it coincides with; numbering each distinct point in element order
  gives the 634 nodes of the PCA (the mean field ``femur_left_mean_rigid_LLP26.geof`` equals the PCA's
  mean, node for node, which checks the numbering).
* Each element is refined to a triangle mesh by evaluating its Lagrange interpolant at REFINE times its
  node spacing; points shared by neighbouring elements are merged. The refinement is linear in the
  nodes, so the modes are refined by the same matrix.
* The pelvis (``2007_5028_short_closedsacrum.wrl``) is a VRML IndexedFaceSet of three closed triangle
  surfaces (the two hip bones and the sacrum).

Coordinates: gias2's files are in the CT's patient frame (LPS: x to the patient's left, y posterior);
the arrays are written in RAS+ mm. The femur, a left one, is also mirrored (x → −x) into a right femur,
the simulator's canonical side.

Usage: python scripts/convert_gias2_shapes.py GIAS2_DIR OUT_DIR
(GIAS2_DIR: the unpacked gias2-0.7.14 wheel's ``gias2`` folder.)
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import struct
import sys
from collections import Counter
from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt

REFINE = 2
FEMUR_FILES = {
    "pca": "examples/data/femur_pca/femur_left_rigid_LLP26.pc",
    "mesh": "examples/data/femur_pca/femur_left_quartic_flat.mesh",
    "mean": "examples/data/femur_pca/femur_left_mean_rigid_LLP26.geof",
}
PELVIS_FILE = "examples/fieldwork/fit_whole_pelvis_data/2007_5028_short_closedsacrum.wrl"
PELVIS_PARTS = ("hip_right", "hip_left", "sacrum")  # the three shapes of the VRML file, in its order
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
LEFT_LPS_TO_RIGHT_RAS = np.diag([1.0, -1.0, 1.0])  # LPS → RAS, then the mirror x → −x


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; any other global raises."""

    ALLOWED: ClassVar[dict[tuple[str, str], object]] = {
        ("numpy.core.multiarray", "_reconstruct"): getattr(np, "_core", np.core).multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}")
        return self.ALLOWED[(module, name)]


def unpickle(data: bytes) -> object:
    return NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def read_hash_db(path: Path) -> dict[str, bytes]:
    """Keys and values of a Berkeley-DB hash file (little-endian, no duplicates)."""
    raw = path.read_bytes()
    (page_size,) = struct.unpack_from("<I", raw, 20)
    pages = [raw[i : i + page_size] for i in range(0, len(raw), page_size)]
    items: dict[str, bytes] = {}
    for page in pages[1:]:
        if page[25] not in (2, 13):  # hash pages (unsorted, sorted)
            continue
        (entries,) = struct.unpack_from("<H", page, 20)
        offsets = struct.unpack_from(f"<{entries}H", page, 26)
        values = [_item(pages, page, offsets, i, page_size) for i in range(entries)]
        items.update({k.decode(): v for k, v in zip(values[::2], values[1::2], strict=True)})
    return items


def _item(pages: list[bytes], page: bytes, offsets: tuple[int, ...], i: int, page_size: int) -> bytes:
    start = offsets[i]
    end = page_size if i == 0 else offsets[i - 1]
    if page[start] == 1:
        return page[start + 1 : end]
    if page[start] != 3:
        raise ValueError(f"unsupported hash item type {page[start]}")
    number, length = struct.unpack_from("<II", page, start + 4)
    data = b""
    while number and len(data) < length:
        (size,) = struct.unpack_from("<H", pages[number], 22)
        data += pages[number][26 : 26 + size]
        (number,) = struct.unpack_from("<I", pages[number], 16)
    return data[:length]


def node_numbers(mesh: dict[str, object]) -> dict[tuple[int, int], int]:
    """Global node of each (element, local point): distinct points numbered in element order."""
    points, coincident = mesh["element_points"], mesh["connectivity"]
    number: dict[tuple[int, int], int] = {}
    for element, _, _ in mesh["elements"]:  # type: ignore[attr-defined]
        for point in points[element]:  # type: ignore[index]
            earlier = [number[q] for q in coincident[point] if q in number]  # type: ignore[index]
            number[point] = earlier[0] if earlier else len(set(number.values()))
    return number


def _monomials(order_u: int, order_v: int, simplex: bool) -> list[tuple[int, int]]:
    return [(a, b) for b in range(order_v + 1) for a in range(order_u + 1) if not simplex or a + b <= order_u]


def _lattice(order_u: int, order_v: int, simplex: bool) -> npt.NDArray[np.float64]:
    """Element points (ξ1 fastest), for the nodes (order) or the refined points (order × REFINE)."""
    return np.array(
        [
            (a / order_u, b / order_v)
            for b in range(order_v + 1)
            for a in range(order_u + 1)
            if not simplex or a + b <= order_u
        ]
    )


def interpolation(order_u: int, order_v: int, simplex: bool) -> npt.NDArray[np.float64]:
    """Matrix from an element's Lagrange nodes to its refined points (exact polynomial interpolation)."""
    powers = _monomials(order_u, order_v, simplex)

    def vandermonde(xi: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.stack([xi[:, 0] ** a * xi[:, 1] ** b for a, b in powers], axis=1)

    nodes = _lattice(order_u, order_v, simplex)
    fine = _lattice(order_u * REFINE, order_v * REFINE, simplex)
    return np.asarray(vandermonde(fine) @ np.linalg.inv(vandermonde(nodes)))


def lattice_triangles(order_u: int, order_v: int, simplex: bool) -> list[tuple[int, int, int]]:
    """Triangles of a refined element's lattice (indices into :func:`_lattice`)."""
    index = {}
    for b in range(order_v + 1):
        for a in range(order_u + 1):
            if not simplex or a + b <= order_u:
                index[(a, b)] = len(index)
    triangles = []
    for (a, b), i in index.items():
        right, up, diagonal = index.get((a + 1, b)), index.get((a, b + 1)), index.get((a + 1, b + 1))
        if right is not None and up is not None:
            triangles.append((i, right, up))
        if right is not None and up is not None and diagonal is not None:
            triangles.append((right, diagonal, up))
    return triangles


ELEMENT_ORDERS = {"tri15": (4, 4, True), "quad55": (4, 4, False), "quad54": (4, 3, False)}


def refined_femur(
    mesh: dict[str, object], nodes: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    """The refinement matrix (fine points × nodes) and the fine triangles, shared points merged."""
    number = node_numbers(mesh)
    rows: list[npt.NDArray[np.float64]] = []
    triangles: list[tuple[int, int, int]] = []
    for element, _, kind in mesh["elements"]:  # type: ignore[attr-defined]
        u, v, simplex = ELEMENT_ORDERS[kind]
        local = interpolation(u, v, simplex)
        weights = np.zeros((len(local), len(nodes)))
        for point, column in enumerate(local.T):
            weights[:, number[(element, point)]] += column
        first = sum(len(r) for r in rows)
        rows.append(weights)
        triangles += [
            (first + a, first + b, first + c)
            for a, b, c in lattice_triangles(u * REFINE, v * REFINE, simplex)
        ]
    matrix = np.concatenate(rows)
    key = np.round(matrix @ nodes, 4)
    _, unique, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    merged = inverse.ravel()[np.asarray(triangles)]
    return matrix[unique], merged.astype(np.int32)


def directed_edges(triangles: npt.NDArray[np.int32]) -> Counter[tuple[int, int]]:
    edges: Counter[tuple[int, int]] = Counter()
    for a, b, c in triangles.tolist():
        edges.update([(a, b), (b, c), (c, a)])
    return edges


def check_closed(triangles: npt.NDArray[np.int32], n_points: int, name: str, strict: bool = True) -> None:
    """Every edge in exactly two triangles, once each way; prints the Euler characteristic (2: a sphere).

    With ``strict`` False, edges shared by four triangles (surfaces touching along an edge) pass.
    """
    edges = directed_edges(triangles)
    undirected = Counter(tuple(sorted(e)) for e in edges.elements())
    allowed = {2} if strict else {2, 4}
    if not set(undirected.values()) <= allowed or any(edges[(b, a)] != edges[(a, b)] for a, b in edges):
        raise ValueError(f"{name}: not a closed consistently oriented surface")
    euler = n_points - len(undirected) + len(triangles)
    print(f"{name}: {n_points} points, {len(triangles)} triangles, Euler characteristic {euler}")


def closed_holes(
    points: npt.NDArray[np.float64], triangles: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    """The surface with each boundary loop closed by a fan of triangles around the loop's centroid."""
    edges = directed_edges(triangles)
    following = {a: b for a, b in edges if (b, a) not in edges}  # boundary edges, as their triangles run
    new_points, new_triangles = [points], [triangles]
    while following:
        start = next(iter(following))
        loop = [start]
        while following[loop[-1]] != start:
            loop.append(following[loop[-1]])
        for vertex in loop:
            del following[vertex]
        centre = len(points) + sum(len(p) for p in new_points[1:])
        new_points.append(points[loop].mean(axis=0, keepdims=True))
        fan = [
            (following_vertex, vertex, centre)
            for vertex, following_vertex in zip(loop, loop[1:] + loop[:1], strict=True)
        ]
        new_triangles.append(np.asarray(fan, np.int32))
        print(f"closed a hole of {len(loop)} edges")
    return np.concatenate(new_points), np.concatenate(new_triangles)


def signed_volume(points: npt.NDArray[np.float64], triangles: npt.NDArray[np.int32]) -> float:
    a, b, c = (points[triangles[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def outward(points: npt.NDArray[np.float64], triangles: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Triangles wound so that their normals point outwards (positive enclosed volume)."""
    return triangles if signed_volume(points, triangles) > 0 else triangles[:, ::-1].copy()


def convert_femur(source: Path, out: Path) -> None:
    mesh = {k: unpickle(v) for k, v in read_hash_db(source / FEMUR_FILES["mesh"]).items()}
    mean_field = unpickle(read_hash_db(source / FEMUR_FILES["mean"])["field_parameters"])
    pca = unpickle((source / FEMUR_FILES["pca"]).read_bytes())
    nodes = np.asarray(pca["mean"]).reshape(3, -1).T  # [x…, y…, z…] per node
    if not np.allclose(nodes, np.asarray(mean_field)[:, :, 0].T):
        raise ValueError("the PCA mean does not match the mean field's nodes")
    variances = np.asarray(pca["weights"])
    kept = variances > 1e-6 * variances[0]
    modes = np.asarray(pca["modes"])[:, kept].T.reshape(int(kept.sum()), 3, -1).transpose(0, 2, 1)
    matrix, triangles = refined_femur(mesh, nodes)
    to_ras = LEFT_LPS_TO_RIGHT_RAS
    mean = matrix @ nodes @ to_ras.T
    fine_modes = np.einsum("fn,knj->kfj", matrix, modes) @ to_ras.T
    triangles = outward(mean, triangles)
    check_closed(triangles, len(mean), "femur")
    np.savez_compressed(
        out / "gias2_femur_pca.npz",
        mean_mm=mean.astype(np.float32),
        modes=fine_modes.astype(np.float32),
        mode_sd_mm=np.sqrt(variances[kept]).astype(np.float32),
        triangles=triangles.astype(np.int32),
    )


def read_vrml(path: Path) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]]:
    """(points, triangles) of each IndexedFaceSet of a VRML 2.0 file of triangles."""
    shapes = []
    for block in path.read_text().split("geometry IndexedFaceSet")[1:]:
        points_text = re.search(r"point \[(.*?)\]", block, re.S)
        index_text = re.search(r"coordIndex \[(.*?)\]", block, re.S)
        if points_text is None or index_text is None:
            raise ValueError("an IndexedFaceSet without points or coordIndex")
        points = np.array(points_text.group(1).replace(",", " ").split(), float).reshape(-1, 3)
        faces = np.array(index_text.group(1).replace(",", " ").split(), int).reshape(-1, 4)
        if not np.all(faces[:, 3] == -1):
            raise ValueError("faces other than triangles")
        shapes.append((points, faces[:, :3].astype(np.int32)))
    return shapes


def convert_pelvis(source: Path, out: Path) -> None:
    arrays: dict[str, npt.NDArray[np.generic]] = {}
    for name, (points, triangles) in zip(PELVIS_PARTS, read_vrml(source / PELVIS_FILE), strict=True):
        ras, triangles = closed_holes(points @ LPS_TO_RAS.T, triangles)
        triangles = outward(ras, triangles)
        check_closed(triangles, len(ras), name, strict=False)
        arrays[f"{name}_mm"] = ras.astype(np.float32)
        arrays[f"{name}_triangles"] = triangles
    np.savez_compressed(out / "gias2_pelvis.npz", **arrays)


def main(source: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in (*FEMUR_FILES.values(), PELVIS_FILE):
        print(f"sha256 {hashlib.sha256((source / name).read_bytes()).hexdigest()}  {name}")
    convert_femur(source, out)
    convert_pelvis(source, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
