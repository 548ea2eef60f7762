"""From aBMD to its interpretation: reference tables (T-score, %YAM) and diagnostic categories."""

from hipbmd.bmd.classify import jos_category, percent_yam, reported, t_score, who_category
from hipbmd.bmd.reference import NHANES_III, YAMTable, YoungReference, load_yam_table

__all__ = [
    "NHANES_III",
    "YAMTable",
    "YoungReference",
    "jos_category",
    "load_yam_table",
    "percent_yam",
    "reported",
    "t_score",
    "who_category",
]
