"""Femur geometry: landmarks, the DXA pose and the DXA-like regions of interest."""
