"""Real cameras: OpenCV capture (`capture`), intrinsic and extrinsic calibration stored per camera
(`calibration`), and the calibration command line (`python -m core.cameras --help`)."""
