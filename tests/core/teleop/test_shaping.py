"""Shaping: deadzone, sensitivity, inversion, axis map, rejection of non-finite values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.teleop.base import ShapingConfigError, combine_twists, toggled
from core.teleop.shaping import AxisMap, ShapingConfig, apply_deadzone, shape
from core.types import Twist

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
UNIT = st.floats(min_value=-1.0, max_value=1.0)


def axes(x: float, i: int = 0) -> list[float]:
    raw = [0.0] * 6
    raw[i] = x
    return raw


# --------------------------------------------------------------------------- deadzone


def test_deadzone_zeroes_inside_and_rescales_outside() -> None:
    assert apply_deadzone(0.05, 0.1) == 0.0
    assert apply_deadzone(-0.1, 0.1) == 0.0
    assert apply_deadzone(1.0, 0.1) == 1.0
    assert apply_deadzone(-1.0, 0.1) == -1.0
    assert apply_deadzone(0.55, 0.1) == pytest.approx(0.5)
    assert apply_deadzone(-0.55, 0.1) == pytest.approx(-0.5)


def test_zero_deadzone_is_identity() -> None:
    for v in (-1.0, -0.3, 0.0, 0.01, 0.7, 1.0):
        assert apply_deadzone(v, 0.0) == v


@given(v=UNIT, d=st.floats(min_value=0.0, max_value=0.95))
def test_deadzone_is_odd_bounded_and_never_amplifies_past_full_scale(v: float, d: float) -> None:
    out = apply_deadzone(v, d)
    assert -1.0 <= out <= 1.0
    assert apply_deadzone(-v, d) == -out
    assert abs(out) <= 1.0 and (abs(v) > d or out == 0.0)


@given(a=UNIT, b=UNIT, d=st.floats(min_value=0.0, max_value=0.9))
def test_deadzone_is_monotone_and_continuous(a: float, b: float, d: float) -> None:
    lo, hi = sorted((a, b))
    assert apply_deadzone(lo, d) <= apply_deadzone(hi, d)
    # Lipschitz with constant 1/(1-d): no jump at the deadzone edge
    assert apply_deadzone(hi, d) - apply_deadzone(lo, d) <= (hi - lo) / (1 - d) + 1e-9


def test_deadzone_continuous_at_edge() -> None:
    d = 0.2
    assert apply_deadzone(d + 1e-9, d) == pytest.approx(0.0, abs=1e-8)


# --------------------------------------------------------------------------- sensitivity / inversion


def test_sensitivity_scales_per_axis_and_clamps() -> None:
    cfg = ShapingConfig(deadzone=0.0, sensitivity=(0.5, 2.0, 0.0, 1, 1, 1))
    out = shape([0.8, 0.8, 0.8, 0, 0, 0], cfg).axes
    assert out[:3] == pytest.approx((0.4, 1.0, 0.0))


def test_inversion_flips_only_chosen_axes() -> None:
    cfg = ShapingConfig(deadzone=0.0, invert=(True, False, False, False, False, True))
    out = shape([0.5, 0.5, 0, 0, 0, -0.25], cfg).axes
    assert out == pytest.approx((-0.5, 0.5, 0, 0, 0, 0.25))


def test_values_slightly_over_full_scale_are_clamped_not_rejected() -> None:
    res = shape(axes(1.4), ShapingConfig(deadzone=0.0))
    assert res.axes[0] == 1.0 and res.rejected == 0


# --------------------------------------------------------------------------- axis map


def test_axis_map_parse_roundtrip_and_apply() -> None:
    amap = AxisMap.parse("-y -x z off pitch -yaw")
    assert str(amap) == "-y -x z off pitch -yaw"
    assert AxisMap.parse(str(amap)) == amap
    cfg = ShapingConfig(deadzone=0.0, axis_map=amap)
    raw = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]  # x y z roll pitch yaw
    assert shape(raw, cfg).axes == pytest.approx((-0.2, -0.1, 0.3, 0.0, 0.5, -0.6))


def test_identity_map_default() -> None:
    assert str(AxisMap()) == "x y z roll pitch yaw"
    raw = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6]
    assert shape(raw, ShapingConfig(deadzone=0.0)).axes == pytest.approx(tuple(raw))


@pytest.mark.parametrize("text", ["x y z", "x y z roll pitch yaw yaw", "x y z roll pitch w", "x y *z roll pitch yaw"])
def test_axis_map_parse_errors(text: str) -> None:
    with pytest.raises(ShapingConfigError):
        AxisMap.parse(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"deadzone": -0.1},
        {"deadzone": 0.99},
        {"sensitivity": (1.0,) * 5},
        {"sensitivity": (float("nan"),) + (1.0,) * 5},
        {"sensitivity": (11.0,) + (1.0,) * 5},
        {"invert": (False,) * 7},
        {"max_raw_abs": float("inf")},
    ],
)
def test_invalid_shaping_config_is_refused(kwargs: dict) -> None:
    with pytest.raises(ShapingConfigError):
        ShapingConfig(**kwargs)


def test_invalid_axis_map_values() -> None:
    with pytest.raises(ShapingConfigError):
        AxisMap(source=(0, 1, 2, 3, 4, 6))
    with pytest.raises(ShapingConfigError):
        AxisMap(sign=(1, 1, 1, 1, 1, 2))


# --------------------------------------------------------------------------- rejection


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), 1e9, -3.0, "0.5", None, True])
def test_bad_values_are_never_applied_and_are_counted(bad: object) -> None:
    raw = [bad, 0.5, 0, 0, 0, 0]
    res = shape(raw, ShapingConfig(deadzone=0.0))
    assert res.axes[0] == 0.0
    assert res.axes[1] == 0.5
    assert res.rejected == 1


def test_rejected_value_does_not_leak_through_axis_map() -> None:
    cfg = ShapingConfig(deadzone=0.0, axis_map=AxisMap.parse("y x z roll pitch yaw"))
    res = shape([float("nan"), 0.3, 0, 0, 0, 0], cfg)
    assert res.axes[:2] == (0.3, 0.0) and res.rejected == 1


def test_wrong_length_is_a_programming_error() -> None:
    with pytest.raises(ShapingConfigError):
        shape([0.0] * 5, ShapingConfig())


@given(raw=st.lists(ANY_FLOAT, min_size=6, max_size=6), d=st.floats(0.0, 0.95),
       gains=st.lists(st.floats(0.0, 10.0), min_size=6, max_size=6))
def test_output_always_finite_and_in_range(raw: list[float], d: float, gains: list[float]) -> None:
    res = shape(raw, ShapingConfig(deadzone=d, sensitivity=tuple(gains)))
    assert all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in res.axes)
    assert res.rejected == sum(1 for v in raw if not (math.isfinite(v) and abs(v) <= 2.0))


# --------------------------------------------------------------------------- helpers


def test_combine_twists_sums_clamps_and_keeps_last_gripper() -> None:
    t = combine_twists([Twist(dx=0.7, dyaw=-0.5), Twist(dx=0.6, gripper=0.0), Twist(dy=-0.2)])
    assert t == Twist(dx=1.0, dy=-0.2, dyaw=-0.5, gripper=0.0)
    assert combine_twists([]) == Twist()


def test_toggle_from_reference() -> None:
    assert toggled(None) == 0.0  # gripper assumed open at start: first toggle closes
    assert toggled(1.0) == 0.0
    assert toggled(0.0) == 1.0


# --------------------------------------------------------------------------- documented axis maps


def _rot_z(quarter_turns: int) -> list[list[int]]:
    c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][quarter_turns % 4]
    return [[c, -s, 0], [s, c, 0], [0, 0, 1]]


@pytest.mark.parametrize(
    ("text", "quarter_turns"),
    [
        ("x y z roll pitch yaw", 0),  # operator behind the robot
        ("-x -y z -roll -pitch yaw", 2),  # across the table
        ("-y x z -pitch roll yaw", 1),  # at the robot's right side, facing it
    ],
)
def test_documented_axis_maps_are_proper_rotations(text: str, quarter_turns: int) -> None:
    """docs/spacemouse.md examples: translation and rotation vectors turn together about +z."""
    rot = _rot_z(quarter_turns)
    cfg = ShapingConfig(deadzone=0.0, axis_map=AxisMap.parse(text))
    for i in range(3):
        v = [0.0, 0.0, 0.0]
        v[i] = 0.5
        out = shape(v + v, cfg).axes
        expected = tuple(sum(rot[r][c] * v[c] for c in range(3)) for r in range(3))
        assert out[:3] == pytest.approx(expected) and out[3:] == pytest.approx(expected)
