"""BMD-GAN: decomposition of a hip radiograph into the DRR of the femur alone (needs the torch extra).

This package's ``__init__`` imports nothing heavy; import :mod:`hipbmd.decomposition.networks` and
:mod:`hipbmd.decomposition.losses` (which import torch) where they are used.
"""
