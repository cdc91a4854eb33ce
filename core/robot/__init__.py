"""Robots: the `Robot` contract, the MuJoCo tabletop simulator, its scene, cameras and tasks."""
