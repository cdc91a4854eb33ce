"""The Feetech STS/SMS serial protocol ("protocol 0", what STS3215 servos speak), as plain data.

Packets (half duplex, 1 Mbaud on the SO-101's bus):
    instruction  FF FF ID LEN INSTR P1..Pn CHK     LEN = n + 2
    status       FF FF ID LEN ERR   P1..Pn CHK     LEN = n + 2
    CHK = ~(ID + LEN + INSTR/ERR + P1 + ... + Pn) & 0xFF
Instructions: PING 0x01, READ 0x02 (addr, len), WRITE 0x03 (addr, data...), SYNC READ 0x82 (to ID 0xFE:
addr, len, id1, id2, ... - each servo answers in turn), SYNC WRITE 0x83 (to 0xFE: addr, len, then id +
len bytes per servo; no answer). Multi-byte registers are little-endian; positions and the homing offset
use sign-magnitude (bit 15, resp. bit 11).

The control table below is LeRobot's (`lerobot/motors/feetech/tables.py`, from Feetech's STS manual): the
studio's driver talks through the vendor SDK (`core.robot.so101.feetech`), and the bus emulator
(`core.robot.so101.emulator`) decodes the same bytes with this module, independently of the SDK.
"""

from __future__ import annotations

HEADER = b"\xff\xff"
BROADCAST = 0xFE
PING, READ, WRITE, SYNC_READ, SYNC_WRITE = 0x01, 0x02, 0x03, 0x82, 0x83
STS3215_MODEL = 777
RESOLUTION = 4096

# name: (address, bytes)
TABLE: dict[str, tuple[int, int]] = {
    "Firmware_Major_Version": (0, 1),
    "Firmware_Minor_Version": (1, 1),
    "Model_Number": (3, 2),
    "ID": (5, 1),
    "Baud_Rate": (6, 1),
    "Return_Delay_Time": (7, 1),
    "Min_Position_Limit": (9, 2),
    "Max_Position_Limit": (11, 2),
    "Max_Torque_Limit": (16, 2),
    "Phase": (18, 1),
    "P_Coefficient": (21, 1),
    "D_Coefficient": (22, 1),
    "I_Coefficient": (23, 1),
    "Protection_Current": (28, 2),
    "Homing_Offset": (31, 2),
    "Operating_Mode": (33, 1),
    "Overload_Torque": (36, 1),
    "Torque_Enable": (40, 1),
    "Acceleration": (41, 1),
    "Goal_Position": (42, 2),
    "Goal_Time": (44, 2),
    "Goal_Velocity": (46, 2),
    "Torque_Limit": (48, 2),
    "Lock": (55, 1),
    "Present_Position": (56, 2),
    "Present_Velocity": (58, 2),
    "Present_Load": (60, 2),
    "Present_Voltage": (62, 1),
    "Present_Temperature": (63, 1),
    "Moving": (66, 1),
    "Present_Current": (69, 2),
    "Maximum_Acceleration": (85, 1),
}
SIGN_BIT = {"Homing_Offset": 11, "Goal_Position": 15, "Present_Position": 15, "Goal_Velocity": 15,
            "Present_Velocity": 15, "Present_Load": 10}


def checksum(body: bytes | list[int]) -> int:
    """Over ID, LEN, INSTR/ERR and the parameters (everything after the two header bytes)."""
    return (~sum(body)) & 0xFF


def packet(ident: int, code: int, params: bytes | list[int] = b"") -> bytes:
    """An instruction (code = instruction) or status (code = error byte) packet."""
    body = bytes([ident, len(params) + 2, code, *params])
    return HEADER + body + bytes([checksum(body)])


def encode(name: str, value: int) -> int:
    """A register value as the servo stores it (sign-magnitude where the table says so)."""
    bit = SIGN_BIT.get(name)
    if bit is None:
        if value < 0:
            raise ValueError(f"{name} cannot be negative ({value})")
        return int(value)
    mag = abs(int(value))
    if mag >= 1 << bit:
        raise ValueError(f"{name} magnitude {mag} does not fit in {bit} bits")
    return mag | ((1 << bit) if value < 0 else 0)


def decode(name: str, raw: int) -> int:
    bit = SIGN_BIT.get(name)
    if bit is None:
        return int(raw)
    mag = raw & ((1 << bit) - 1)
    return -mag if (raw >> bit) & 1 else mag


def to_bytes(value: int, size: int) -> bytes:
    return int(value).to_bytes(size, "little")


class Parser:
    """Splits a byte stream into packets: (id, code, params) for each whole packet with a good checksum.

    Garbage before a header and packets whose checksum does not match are dropped (`bad` counts them),
    as a servo ignores them.
    """

    def __init__(self) -> None:
        self.buf = bytearray()
        self.bad = 0

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        self.buf += data
        out = []
        while True:
            start = self.buf.find(HEADER)
            if start < 0:
                del self.buf[: max(0, len(self.buf) - 1)]
                return out
            del self.buf[:start]
            if len(self.buf) < 4:
                return out
            ident, length = self.buf[2], self.buf[3]
            if ident == 0xFF or length < 2:  # a third 0xFF or a length that cannot be: resync one byte on
                del self.buf[:1]
                continue
            total = 4 + length
            if len(self.buf) < total:
                return out
            body = bytes(self.buf[2 : total - 1])
            if checksum(body) == self.buf[total - 1]:
                out.append((ident, body[2], body[3:]))
                del self.buf[:total]
            else:
                self.bad += 1
                del self.buf[:2]


__all__ = ["BROADCAST", "HEADER", "PING", "READ", "RESOLUTION", "SIGN_BIT", "STS3215_MODEL", "SYNC_READ",
           "SYNC_WRITE", "TABLE", "WRITE", "Parser", "checksum", "decode", "encode", "packet", "to_bytes"]
