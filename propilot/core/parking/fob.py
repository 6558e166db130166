"""Key-fob protocol: HMAC-SHA256 authenticated commands with a rolling counter and a timestamp.

In: a received `FobPacket`, the vehicle's clock and the shared key (read from a key file whose
permissions are checked). Out: a `FobVerdict`, accepted or rejected with the reason:
`wrong_vehicle`, `forged_mac`, `replayed`, `out_of_order`, `stale`. The MAC covers the vehicle
id, the counter, the command and the fob's timestamp (`packet_bytes`), so none of them can be
changed without the key; the counter stops replays and reordering, the timestamp stops a packet
recorded and held back (relay attack).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from propilot.core.parking.types import FobCommandKind, FobPacket
from propilot.core.settings import ConfigError, setting

MAC_BYTES = 32  # SHA-256
MIN_KEY_BYTES = 16  # 128-bit keys at least (NIST SP 800-107: HMAC key >= security strength)

REASON_WRONG_VEHICLE = "wrong_vehicle"
REASON_FORGED = "forged_mac"
REASON_REPLAYED = "replayed"
REASON_OUT_OF_ORDER = "out_of_order"
REASON_STALE = "stale"


@dataclass(frozen=True, slots=True)
class FobSettings:
    key_path: str = setting("", description="file holding the fob's shared HMAC key (hex); mode 0600, "
                                            "outside the repository; empty: remote park refuses every packet")
    vehicle_id: str = setting("PP-0001", description="this vehicle's id, covered by every packet's MAC")
    max_age_s: float = setting(0.3, unit="s", minimum=0.05, maximum=2.0,
                               description="a packet whose fob timestamp differs more than this from the "
                                           "vehicle clock is stale (relay / delayed replay)",
                               source="3x the 100 ms hold period of UN R79 RCP hold-to-move")
    replay_window: int = setting(256, minimum=8, maximum=65536,
                                 description="accepted counters remembered to tell replays from reordering")


@dataclass(frozen=True, slots=True)
class FobVerdict:
    accepted: bool
    reason: str = ""  # why rejected; "" when accepted


def packet_bytes(vehicle_id: str, counter: int, command: FobCommandKind, timestamp_s: float) -> bytes:
    """The authenticated content: vehicle id (UTF-8, length-prefixed), counter u32, command u8, timestamp f64."""
    vid = vehicle_id.encode("utf-8")
    return struct.pack(">H", len(vid)) + vid + struct.pack(">IBd", counter, int(command), timestamp_s)


def sign(key: bytes, vehicle_id: str, counter: int, command: FobCommandKind, timestamp_s: float) -> bytes:
    """HMAC-SHA256 of the packet content (RFC 2104)."""
    return hmac.new(key, packet_bytes(vehicle_id, counter, command, timestamp_s), hashlib.sha256).digest()


def load_key(path: str | Path) -> bytes:
    """The key in a hex key file; refused when group or others may read or write it, or when it is short."""
    origin = str(path)
    if not str(path):
        raise ConfigError("fob settings", "key_path", "missing: remote park needs the fob's key file")
    try:
        info = os.stat(path)
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(origin, "(file)", f"cannot read the fob key: {exc.strerror or exc}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(origin, "(file)", f"fob key file is accessible to group or others "
                                            f"(mode {stat.S_IMODE(info.st_mode):04o}); run chmod 600")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(origin, "(file)", "fob key must be hexadecimal text") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(origin, "(file)", f"fob key has {len(key)} bytes, needs at least {MIN_KEY_BYTES}")
    return key


def write_key(path: str | Path, key: bytes) -> Path:
    """Create a key file only its owner can read (what provisioning a car and its fob does)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    os.chmod(path, 0o600)
    return path


class FobVerifier:
    """Checks packets of one fob; the counter advances only on accepted packets."""

    def __init__(self, settings: FobSettings, key: bytes | None):
        self.settings = settings
        self.key = key
        self.last_counter: int | None = None
        self._accepted: deque[int] = deque(maxlen=settings.replay_window)

    def check(self, packet: FobPacket, now_s: float) -> FobVerdict:
        if packet.vehicle_id != self.settings.vehicle_id:
            return FobVerdict(False, REASON_WRONG_VEHICLE)
        expected = b"" if self.key is None else sign(self.key, packet.vehicle_id, packet.counter, packet.command,
                                                       packet.timestamp_s)
        if self.key is None or not hmac.compare_digest(expected, packet.mac):
            return FobVerdict(False, REASON_FORGED)
        if packet.counter in self._accepted:
            return FobVerdict(False, REASON_REPLAYED)
        if self.last_counter is not None and packet.counter <= self.last_counter:
            return FobVerdict(False, REASON_OUT_OF_ORDER)
        if abs(now_s - packet.timestamp_s) > self.settings.max_age_s:
            return FobVerdict(False, REASON_STALE)
        self.last_counter = packet.counter
        self._accepted.append(packet.counter)
        return FobVerdict(True)
