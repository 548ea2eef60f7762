"""The DICOM node and the web page under load and faults, run as a hospital would run them.

* **Node load**: N radiographs (default 200) sent from 4 concurrent associations to ``hipbmd serve-dicom``
  (a subprocess with the shipped models); every one must be answered and its SR and SC delivered to a
  receiving PACS (pynetdicom, in this process). Prints images per minute and the node's peak RSS.
* **Node faults**: the same with 10 malformed objects mixed in; the node is killed with SIGKILL when half
  the results are delivered and restarted on its folder. Every result must be delivered, the PACS must
  hold exactly one distinct object per result (a result sent twice is the same object), each malformed
  object must be refused, and the node must answer C-ECHO afterwards.
* **Web**: 20 sequential uploads to ``hipbmd serve-web``, then 4 in parallel; the median response time,
  and no upload left behind.

The radiographs are a few simulated cases (held-out sites, the model's training resolution), each sent
under new SOP Instance UIDs so that every image is a new one for the node.

Usage:  .venv/bin/python benchmarks/hospital.py [--n 200] [--out benchmarks/results_hospital.txt]
"""

from __future__ import annotations

import argparse
import copy
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pydicom
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import Verification

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pacs_receiver import Pacs, free_port

ASSOCIATIONS = 4
MALFORMED = 10


def _cases(folder: Path, count: int = 4) -> list[pydicom.Dataset]:
    from hipbmd.api.demo import training_resolution
    from hipbmd.sim.case import simulate_case
    from hipbmd.sim.case_draw import CaseRequest, Resolution

    resolution = Resolution(**training_resolution(None))
    sites = ("site_e_ase", "site_f_portable")
    datasets = []
    for k in range(count):
        case = folder / f"case_{k}"
        simulate_case(CaseRequest(f"case_{k}", k, sites[k % 2], 777, resolution), case)
        datasets.append(pydicom.dcmread(case / "xray.dcm"))
    return datasets


def _images(cases: list[pydicom.Dataset], n: int) -> list[pydicom.Dataset]:
    images = []
    for k in range(n):
        image = copy.deepcopy(cases[k % len(cases)])
        image.SOPInstanceUID = generate_uid(entropy_srcs=["hospital benchmark", str(k)])
        image.file_meta.MediaStorageSOPInstanceUID = image.SOPInstanceUID
        images.append(image)
    return images


def _start_node(folder: Path, port: int, pacs: Pacs) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hipbmd.cli", "serve-dicom", "-o", str(folder), "--port", str(port)]
    command += ["--forward", f"PACS@127.0.0.1:{pacs.port}", "--samples", "8"]
    node = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 180
    while time.monotonic() < end:
        if _echo(port):
            return node
        time.sleep(0.5)
    raise RuntimeError("the node did not start")


def _echo(port: int) -> bool:
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(Verification)
    association = ae.associate("127.0.0.1", port, ae_title="HIPBMD")
    if not association.is_established:
        return False
    status = association.send_c_echo()
    association.release()
    return getattr(status, "Status", None) == 0x0000


def _send(port: int, images: list[pydicom.Dataset]) -> list[int]:
    """C-STORE the images in one association; their statuses (-1: not sent)."""
    ae = AE(ae_title="MODALITY")
    for sop_class in sorted({str(image.SOPClassUID) for image in images}):
        ae.add_requested_context(sop_class)
    association = ae.associate("127.0.0.1", port, ae_title="HIPBMD")
    statuses = []
    for image in images:
        status = association.send_c_store(image) if association.is_established else None
        statuses.append(int(getattr(status, "Status", -1)) if status is not None else -1)
    association.release()
    return statuses


def _send_concurrently(port: int, images: list[pydicom.Dataset]) -> list[int]:
    """The images sent from concurrent associations (every ASSOCIATIONS-th to each); statuses in order."""
    shares = [images[k::ASSOCIATIONS] for k in range(ASSOCIATIONS)]
    with ThreadPoolExecutor(ASSOCIATIONS) as pool:
        parts = list(pool.map(lambda share: _send(port, share), shares))
    statuses = [-1] * len(images)
    for k, part in enumerate(parts):
        statuses[k::ASSOCIATIONS] = part
    return statuses


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(condition: Any, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < end:
        time.sleep(0.5)
    return bool(condition())


def node_load(images: list[pydicom.Dataset], scratch: Path) -> list[str]:
    pacs, port = Pacs(), free_port()
    node = _start_node(scratch / "load", port, pacs)
    started = time.monotonic()
    statuses = _send_concurrently(port, images)
    answered = time.monotonic() - started
    delivered = _wait(lambda: pacs.sr_count() >= len(images), 60 + 30 * len(images))
    seconds = time.monotonic() - started
    rss = _peak_rss_mb(node.pid)
    node.send_signal(signal.SIGINT)
    node.wait(60)
    pacs.server.shutdown()
    return [
        f"node load: {len(images)} radiographs from {ASSOCIATIONS} concurrent associations",
        f"  answered Success: {statuses.count(0)} of {len(images)} (all sent in {answered:.1f} s)",
        f"  results delivered: {pacs.sr_count()} SR of {len(images)} ({'all' if delivered else 'NOT all'}),"
        f" {len(pacs.objects)} distinct objects",
        f"  throughput {60 * len(images) / seconds:.1f} images/min on this machine;"
        f" node peak RSS {rss:.0f} MB",
    ]


def node_faults(images: list[pydicom.Dataset], scratch: Path) -> list[str]:
    pacs, port, folder = Pacs(), free_port(), scratch / "faults"
    broken = []
    for k in range(MALFORMED):
        image = copy.deepcopy(images[k % len(images)])
        image.SOPInstanceUID = generate_uid(entropy_srcs=["malformed", str(k)])
        del image.PixelData
        broken.append(image)
    node = _start_node(folder, port, pacs)
    mixed = images[: len(images) // 2] + broken + images[len(images) // 2 :]
    sender = threading.Thread(target=lambda: results.extend(_send_concurrently(port, mixed)))
    results: list[int] = []
    sender.start()
    _wait(lambda: pacs.sr_count() >= len(images) // 2, 60 + 30 * len(images))
    node.send_signal(signal.SIGKILL)
    node.wait(30)
    killed_at = pacs.sr_count()
    sender.join()  # associations opened while the node was down fail: those images are sent again
    node = _start_node(folder, port, pacs)
    broken_ids = {id(image) for image in broken}
    final = {id(image): status for image, status in zip(mixed, results, strict=True)}
    unanswered = [
        image
        for image in mixed
        if final[id(image)] == -1 or (final[id(image)] != 0 and id(image) not in broken_ids)
    ]
    resent = _send_concurrently(port, unanswered) if unanswered else []
    final.update({id(image): status for image, status in zip(unanswered, resent, strict=True)})
    delivered = _wait(lambda: pacs.sr_count() >= len(images), 60 + 30 * len(images))
    alive = _echo(port)
    refused = sum(final[key] not in (0, -1) for key in broken_ids)
    node.send_signal(signal.SIGINT)
    node.wait(60)
    pacs.server.shutdown()
    return [
        f"node faults: {len(images)} radiographs and {MALFORMED} malformed objects;"
        f" SIGKILL after {killed_at} results",
        f"  objects not answered before the kill, sent again after the restart: {len(unanswered)}",
        f"  results delivered: {pacs.sr_count()} SR of {len(images)} ({'all' if delivered else 'NOT all'});"
        f" deliveries {pacs.deliveries}, distinct objects {len(pacs.objects)} (2 per result expected:"
        f" {2 * len(images)})",
        f"  malformed objects refused with a failure status: {refused} of {MALFORMED};"
        f" node answers C-ECHO after: {'yes' if alive else 'NO'}",
    ]


def web(image_paths: list[Path], scratch: Path) -> list[str]:
    import httpx

    port, folder = free_port(), scratch / "web"
    command = [sys.executable, "-m", "hipbmd.cli", "serve-web", "-o", str(folder), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: _up(url), 180)

    def upload(path: Path) -> float:
        started = time.perf_counter()
        answer = httpx.post(
            f"{url}/estimate", files={"radiograph": (path.name, path.read_bytes())}, timeout=300
        )
        answer.raise_for_status()
        return time.perf_counter() - started

    sequential = [upload(image_paths[k % len(image_paths)]) for k in range(20)]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(upload, [image_paths[k % len(image_paths)] for k in range(4)]))
    server.send_signal(signal.SIGINT)
    server.wait(60)
    left = list((folder / "uploads").iterdir())
    return [
        "web: 20 sequential uploads, then 4 in parallel",
        f"  median response {statistics.median(sequential):.2f} s sequential (max {max(sequential):.2f} s),"
        f" {statistics.median(parallel):.2f} s in parallel (max {max(parallel):.2f} s)",
        f"  uploads left behind: {len(left)}",
    ]


def _up(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="radiographs per node run")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    lines = [f"hospital benchmark on this machine ({args.n} radiographs per node run)"]
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        cases = _cases(scratch / "cases")
        images = _images(cases, args.n)
        for part in (lambda: node_load(images, scratch), lambda: node_faults(images, scratch)):
            lines += part()
            print("\n".join(lines[-4:]), flush=True)
        lines += web(sorted((scratch / "cases").glob("*/xray.dcm")), scratch)
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
