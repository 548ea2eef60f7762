"""Validation statistics: agreement of estimated with reference aBMD, diagnostic accuracy, the report.

Pure functions on arrays (:mod:`~hipbmd.stats.agreement`, :mod:`~hipbmd.stats.icc`,
:mod:`~hipbmd.stats.roc`, :mod:`~hipbmd.stats.confusion`), the reading and pairing of a results table
with a reference (:mod:`~hipbmd.stats.inputs`, :mod:`~hipbmd.stats.matching`), and the report
(:mod:`~hipbmd.stats.evaluate`, :mod:`~hipbmd.stats.plots`, :mod:`~hipbmd.stats.html`,
:mod:`~hipbmd.stats.report`) behind ``hipbmd evaluate``.
"""
