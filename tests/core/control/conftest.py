"""Fixtures shared by the control tests: the threaded control loop over the simulator."""

from tests.core.control.test_autonomous import loop  # noqa: F401 - the fixture
