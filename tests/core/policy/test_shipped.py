"""Which shipped action adapter a robot gets (core.policy.shipped): its own, or none."""

from __future__ import annotations

import core.policy.shipped as shipped


class FakeService:
    def __init__(self) -> None:
        self.activated: list[tuple[str, str]] = []


def test_each_robot_gets_its_own_shipped_adapter_or_none(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(shipped, "ASSETS", tmp_path)
    monkeypatch.setattr(shipped, "ADAPTER_DIR", tmp_path / "adapter")
    assert shipped.shipped_adapter("sim") == (tmp_path / "adapter", "default-sim")
    assert shipped.shipped_adapter("so101-sim") is None  # the built-in arm's adapter is not the SO-101's
    (tmp_path / "adapter-so101-sim").mkdir()
    (tmp_path / "adapter-so101-sim" / shipped.WEIGHTS).write_bytes(b"w")
    assert shipped.shipped_adapter("so101-sim") == (tmp_path / "adapter-so101-sim", "default-so101-sim")
    assert shipped.shipped_adapter("so101") is None

    got: list[tuple] = []
    monkeypatch.setattr(shipped, "install_adapter", lambda service, folder, name: got.append((folder, name)))
    shipped.install_shipped(FakeService(), reader=False, restater=False, robot="so101-sim")
    shipped.install_shipped(FakeService(), reader=False, restater=False, robot="sim")
    assert got == [(tmp_path / "adapter-so101-sim", "default-so101-sim"), (tmp_path / "adapter", "default-sim")]
    with caplog.at_level("INFO", logger="core.policy.shipped"):
        shipped.install_shipped(FakeService(), reader=False, restater=False, robot="so101")
    assert len(got) == 2 and "no action adapter ships for the so101 robot" in caplog.text
