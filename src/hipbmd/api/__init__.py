"""The hipbmd Python API: one function per CLI command, in modules named as the CLI's (:mod:`hipbmd.cli`).

>>> from hipbmd import api
>>> api.info(["ct_folder/", "hip.dcm"])        # same as: hipbmd info ct_folder/ hip.dcm --json

Each ``hipbmd <command>`` parses its options and calls exactly the function of the same name here
(dashes become underscores: ``hipbmd ct-bmd`` → :func:`ct_bmd`). Heavy modules (torch, the simulator,
matplotlib) are imported only when the functions that need them run.
"""

from __future__ import annotations

from hipbmd.api.bmd import calibrate_intervals, estimate, merge_results, train
from hipbmd.api.ct import calibrate, ct_bmd
from hipbmd.api.demo import demo
from hipbmd.api.drr import DetectorChoice, drr, read_pose, read_pose_camera, register
from hipbmd.api.info import info, info_one
from hipbmd.api.node import serve_dicom
from hipbmd.api.seg import import_masks, seg_train, segment
from hipbmd.api.sim import simulate
from hipbmd.api.stats import evaluate
from hipbmd.api.validate import crossval
from hipbmd.api.web import serve_web
from hipbmd.bmd.record import EstimateRecord
from hipbmd.bmd.record_parts import ROIMeasurement
from hipbmd.calibration.result import Calibration
from hipbmd.calibration.rods import RodMeasurement
from hipbmd.drr.project_ct import DRRRequest
from hipbmd.io.ct import read_ct, read_labels
from hipbmd.io.radiograph import read_radiograph

__all__ = [
    "Calibration",
    "DRRRequest",
    "DetectorChoice",
    "EstimateRecord",
    "ROIMeasurement",
    "RodMeasurement",
    "calibrate",
    "calibrate_intervals",
    "crossval",
    "ct_bmd",
    "demo",
    "drr",
    "estimate",
    "evaluate",
    "import_masks",
    "info",
    "info_one",
    "merge_results",
    "read_ct",
    "read_labels",
    "read_pose",
    "read_pose_camera",
    "read_radiograph",
    "register",
    "seg_train",
    "segment",
    "serve_dicom",
    "serve_web",
    "simulate",
    "train",
]
