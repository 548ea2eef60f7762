"""Rigid 2D/3D registration of a radiograph to a CT."""

from hipbmd.registration.register import RegistrationReport, register
from hipbmd.registration.similarity import gradient_correlation, multiscale, ncc

__all__ = ["RegistrationReport", "gradient_correlation", "multiscale", "ncc", "register"]
