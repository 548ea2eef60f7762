"""Validation of the radiograph model: patient-level cross-validation splits and the driver that trains,
estimates and evaluates each fold (``hipbmd crossval``)."""
