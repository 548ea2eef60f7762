"""X-ray physics shared by the simulator and the phantomless CT calibration: attenuation of materials,
tube spectra, air kerma and CT numbers, from the tables shipped in ``hipbmd/resources/physics``."""
