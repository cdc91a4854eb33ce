"""The control layer: the fixed-rate loop, safety, drivers (teleop, the scripted expert, replay, the autonomous
run) and the `Policy` contract the autonomous run asks of a model."""
