"""A Feetech STS3215 bus through the vendor SDK (`scservo_sdk`, PyPI `feetech-servo-sdk`), as LeRobot uses it.

LeRobot's own driver needs Python 3.12 and pins that clash with this project, so the studio calls the same
SDK directly, with LeRobot's fix of the SDK's packet timeout (the SDK waits 34 ms flat; LeRobot: the
bytes' transfer time plus 3 byte times plus a margin, 50 ms by default). Register names and encodings are
`core.robot.so101.protocol`'s. Single-servo transactions (ping, read, write - set-up and calibration) are
tried `retries` more times, as LeRobot retries reads; SYNC READ / SYNC WRITE are not (the robot driver
decides what a failed control-loop read means). Every failure raises `BusError` with the SDK's reason.
"""

from __future__ import annotations

import threading
import time

from core.robot.so101.protocol import TABLE, decode, encode

DEFAULT_BAUD = 1_000_000


class BusError(RuntimeError):
    """The servo bus did not answer, answered garbage, or a servo reported an error."""


def _sdk():
    try:
        import scservo_sdk
    except ImportError as exc:  # pragma: no cover - a requirement; the message says what to install
        raise BusError("the Feetech SDK is missing: pip install feetech-servo-sdk==1.0.0 pyserial==3.5") from exc
    return scservo_sdk


class FeetechBus:
    """One serial port with servos on it. Thread-safe: one transaction at a time."""

    def __init__(self, port: str, baudrate: int = DEFAULT_BAUD, timeout_margin_ms: float = 50.0,
                 retries: int = 2) -> None:
        self.port, self.baudrate, self.margin_ms = port, int(baudrate), float(timeout_margin_ms)
        self.retries = int(retries)
        self._lock = threading.Lock()
        self._ph = None
        self._pk = None
        self.transactions = 0
        self.failures = 0

    # ---- connection -------------------------------------------------------------------------------
    def open(self) -> FeetechBus:
        scs = _sdk()
        ph = scs.PortHandler(self.port)
        margin = self.margin_ms

        def set_packet_timeout(packet_length: int) -> None:  # LeRobot's patch_setPacketTimeout
            ph.packet_start_time = ph.getCurrentTime()
            ph.packet_timeout = ph.tx_time_per_byte * packet_length + ph.tx_time_per_byte * 3.0 + margin

        ph.setPacketTimeout = set_packet_timeout
        try:
            ph.baudrate = self.baudrate
            if not ph.openPort():
                raise BusError(f"cannot open {self.port} at {self.baudrate} baud")
        except BusError:
            raise
        except Exception as exc:  # serial.SerialException: no such device, permission denied
            raise BusError(f"cannot open {self.port}: {exc}") from exc
        self._ph, self._pk = ph, scs.PacketHandler(0)
        return self

    def close(self) -> None:
        with self._lock:
            if self._ph is not None:
                try:
                    self._ph.closePort()
                except Exception:  # the device may already be gone
                    pass
                self._ph = None

    @property
    def is_open(self) -> bool:
        return self._ph is not None

    # ---- transactions -----------------------------------------------------------------------------
    def _check(self, result: int, error: int, what: str) -> None:
        scs = _sdk()
        if result != scs.COMM_SUCCESS:
            self.failures += 1
            raise BusError(f"{what} on {self.port}: {self._pk.getTxRxResult(result)}")
        if error:
            self.failures += 1
            raise BusError(f"{what} on {self.port}: servo reports {self._pk.getRxPacketError(error)} ({error})")

    def _port(self):  # noqa: ANN202
        """The open port, its input emptied: an answer that came after its transaction timed out must not
        be taken for the next transaction's (the SDK only flushes the output)."""
        if self._ph is None:
            raise BusError(f"the bus on {self.port} is closed")
        try:
            self._ph.ser.reset_input_buffer()
        except Exception as exc:  # the device went away
            self.failures += 1
            raise BusError(f"the bus on {self.port} is gone: {exc}") from exc
        return self._ph

    def _retried(self, fn, retries: int | None = None):  # noqa: ANN001, ANN202
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            try:
                return fn()
            except BusError:
                if attempt == retries:
                    raise
                time.sleep(0.005)  # let a late answer arrive; the next try empties the input first
            except (IndexError, TypeError, ValueError) as exc:  # the SDK choked on a short or stale answer
                self.failures += 1
                if attempt == retries:
                    raise BusError(f"garbled answer on {self.port}: {exc!r}") from exc
        raise AssertionError("unreachable")

    def ping(self, ident: int) -> int:
        """The servo's model number (STS3215: 777)."""
        return self._retried(lambda: self._ping(ident))

    def read(self, name: str, ident: int) -> int:
        return self._retried(lambda: self._read(name, ident))

    def write(self, name: str, ident: int, value: int) -> None:
        self._retried(lambda: self._write(name, ident, value))

    def _ping(self, ident: int) -> int:
        with self._lock:
            ph = self._port()
            self.transactions += 1
            model, result, error = self._pk.ping(ph, ident)
            self._check(result, error, f"ping of servo {ident}")
            return int(model)

    def _read(self, name: str, ident: int) -> int:
        addr, size = TABLE[name]
        with self._lock:
            ph = self._port()
            self.transactions += 1
            data, result, error = self._pk.readTxRx(ph, ident, addr, size)
            self._check(result, error, f"read of {name} from servo {ident}")
            return decode(name, int.from_bytes(bytes(data[:size]), "little"))

    def _write(self, name: str, ident: int, value: int) -> None:
        addr, size = TABLE[name]
        raw = encode(name, value).to_bytes(size, "little")
        with self._lock:
            ph = self._port()
            self.transactions += 1
            result, error = self._pk.writeTxRx(ph, ident, addr, size, list(raw))
            self._check(result, error, f"write of {name}={value} to servo {ident}")

    def sync_read(self, name: str, ids: list[int] | tuple[int, ...], retries: int = 0) -> dict[int, int]:
        """A SYNC READ of `name` from `ids` (every servo must answer), tried `retries` more times."""
        return self._retried(lambda: self._sync_read(name, ids), retries)

    def _sync_read(self, name: str, ids: list[int] | tuple[int, ...]) -> dict[int, int]:
        scs = _sdk()
        addr, size = TABLE[name]
        with self._lock:
            ph = self._port()
            self.transactions += 1
            group = scs.GroupSyncRead(ph, self._pk, addr, size)
            for i in ids:
                group.addParam(i)
            result = group.txRxPacket()
            self._check(result, 0, f"sync read of {name} from servos {list(ids)}")
            out = {}
            for i in ids:
                if not group.isAvailable(i, addr, size):
                    self.failures += 1
                    raise BusError(f"sync read of {name}: servo {i} did not answer on {self.port}")
                out[i] = decode(name, int(group.getData(i, addr, size)))
            return out

    def sync_write(self, name: str, values: dict[int, int]) -> None:
        """One SYNC WRITE of `name` (no answer comes back: a lost packet is only seen on the next read)."""
        self._retried(lambda: self._sync_write(name, values), 0)

    def _sync_write(self, name: str, values: dict[int, int]) -> None:
        scs = _sdk()
        addr, size = TABLE[name]
        with self._lock:
            ph = self._port()
            self.transactions += 1
            group = scs.GroupSyncWrite(ph, self._pk, addr, size)
            for i, v in values.items():
                group.addParam(i, list(encode(name, v).to_bytes(size, "little")))
            self._check(group.txPacket(), 0, f"sync write of {name} to servos {list(values)}")

    def timed_sync_read(self, name: str, ids: list[int] | tuple[int, ...],
                        retries: int = 0) -> tuple[dict[int, int], float]:
        t = time.perf_counter()
        out = self.sync_read(name, ids, retries)
        return out, (time.perf_counter() - t) * 1000


__all__ = ["BusError", "DEFAULT_BAUD", "FeetechBus"]
