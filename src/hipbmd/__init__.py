"""hipbmd: areal bone mineral density of the proximal femur from a plain hip radiograph.

A research tool, not a medical device.
"""

__version__ = "0.1.0"
