import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.control.safety import Limits, safe_command, sanitize_twist, step_target, twist_toward
from core.types import Command, Twist

DT = 1 / 30
START = Command((0.4, 0.0, 0.2), 0.0, 1.0)


def test_full_deflection_moves_at_max_speed_along_axis():
    lim = Limits()
    cmd = step_target(START, Twist(dx=1.0), lim, DT)
    assert cmd.pos[0] - START.pos[0] == pytest.approx(lim.max_speed * DT)
    assert cmd.pos[1:] == START.pos[1:]


def test_diagonal_is_not_faster_than_an_axis():
    lim = Limits()
    cmd = step_target(START, Twist(dx=1.0, dy=1.0, dz=1.0), lim, DT)
    moved = math.dist(cmd.pos, START.pos)
    assert moved == pytest.approx(lim.max_speed * DT)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e9, "x"])
def test_non_finite_or_huge_values_are_never_applied_beyond_limits(bad):
    lim = Limits()
    cmd = step_target(START, Twist(dx=bad, dy=bad, dyaw=bad, gripper=math.nan), lim, DT)
    assert all(math.isfinite(v) for v in cmd.pos)
    assert math.dist(cmd.pos, START.pos) <= lim.max_speed * DT + 1e-12
    assert cmd.gripper == START.gripper  # NaN gripper request ignored


def test_sanitize_clips_to_unit_range():
    tw = sanitize_twist(Twist(dx=5, dy=-5, dz=0.5, gripper=3))
    assert (tw.dx, tw.dy, tw.dz, tw.gripper) == (1.0, -1.0, 0.5, 1.0)


@given(
    st.lists(st.tuples(*[st.floats(allow_nan=True, allow_infinity=True)] * 4), min_size=1, max_size=200)
)
def test_target_never_leaves_workspace(moves):
    lim = Limits()
    cmd = START
    for dx, dy, dz, dyaw in moves:
        cmd = step_target(cmd, Twist(dx=dx, dy=dy, dz=dz, dyaw=dyaw), lim, DT)
        assert lim.contains(cmd.pos)
        assert lim.yaw[0] <= cmd.yaw <= lim.yaw[1]


def test_stalled_tick_cannot_jump():
    lim = Limits()
    cmd = step_target(START, Twist(dx=1.0), lim, dt=5.0)
    assert cmd.pos[0] - START.pos[0] <= lim.max_speed * 0.2 + 1e-12


def test_safe_command_rejects_nan_and_clamps():
    lim = Limits()
    with pytest.raises(ValueError):
        safe_command(Command((math.nan, 0, 0), 0, 1), lim)
    c = safe_command(Command((9.0, -9.0, -1.0), 9.0, 2.0), lim)
    assert c.pos == (lim.x[1], lim.y[0], lim.z[0]) and c.yaw == lim.yaw[1] and c.gripper == 1.0


def test_limits_validate():
    with pytest.raises(ValueError):
        Limits(x=(1.0, 0.0))
    with pytest.raises(ValueError):
        Limits(max_speed=5.0)


def test_twist_toward_points_at_goal_and_saturates():
    lim = Limits()
    ax = twist_toward((0.4, 0, 0.2), (0.6, 0, 0.2), lim, DT)
    assert ax == pytest.approx((1.0, 0.0, 0.0))
    small = twist_toward((0.4, 0, 0.2), (0.401, 0, 0.2), lim, DT)
    assert 0 < small[0] < 1


def test_twist_toward_per_axis_moves_every_axis_at_full_speed():
    lim = Limits()
    straight = twist_toward((0.4, 0.0, 0.2), (0.6, 0.05, 0.2), lim, DT)
    per_axis = twist_toward((0.4, 0.0, 0.2), (0.6, 0.05, 0.2), lim, DT, per_axis=True)
    assert straight[1] < 0.3 and per_axis == (1.0, 1.0, 0.0)
    assert twist_toward((0.4, 0.0, 0.2), (0.3, -0.001, 0.2), lim, DT, per_axis=True)[0] == -1.0
