"""Validation of the radiograph model: patient-level cross-validation splits and the files that record
them. The driver that trains, estimates and evaluates each fold is :mod:`hipbmd.api.validate`."""
