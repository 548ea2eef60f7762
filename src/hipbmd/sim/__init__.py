"""Virtual hip cohort: anatomy, CT with a calibration phantom, radiographs of several sites, and DXA."""
