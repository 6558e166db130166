"""The key-fob protocol: what the car accepts and what it refuses, and why; the key file's rules."""

import os

import pytest

from propilot.core.parking.fob import (
    REASON_FORGED,
    REASON_OUT_OF_ORDER,
    REASON_REPLAYED,
    REASON_STALE,
    REASON_WRONG_VEHICLE,
    FobSettings,
    FobVerifier,
    load_key,
    sign,
    write_key,
)
from propilot.core.parking.types import FobCommandKind, FobPacket
from propilot.core.settings import ConfigError

KEY = bytes(range(32))
SETTINGS = FobSettings(vehicle_id="PP-TEST")


def packet(counter, t_s, command=FobCommandKind.HOLD, key=KEY, vehicle="PP-TEST", sent_s=None, distance_m=2.0):
    sent_s = t_s if sent_s is None else sent_s
    return FobPacket(t_s, vehicle, counter, command, sent_s, sign(key, vehicle, counter, command, sent_s), distance_m)


def test_a_genuine_sequence_of_holds_is_accepted():
    verifier = FobVerifier(SETTINGS, KEY)
    verdicts = [verifier.check(packet(n, 0.1 * n), 0.1 * n) for n in range(1, 6)]
    assert all(v.accepted for v in verdicts)
    assert verifier.last_counter == 5


def test_a_recorded_packet_sent_again_is_a_replay():
    verifier = FobVerifier(SETTINGS, KEY)
    recorded = packet(7, 1.0)
    assert verifier.check(recorded, 1.0).accepted
    assert verifier.check(recorded, 1.05).reason == REASON_REPLAYED  # even while still fresh


def test_an_older_counter_never_seen_is_out_of_order():
    verifier = FobVerifier(SETTINGS, KEY)
    assert verifier.check(packet(10, 1.0), 1.0).accepted
    assert verifier.check(packet(9, 1.0), 1.0).reason == REASON_OUT_OF_ORDER


def test_a_packet_signed_with_another_key_is_forged():
    verifier = FobVerifier(SETTINGS, KEY)
    assert verifier.check(packet(1, 1.0, key=bytes(32)), 1.0).reason == REASON_FORGED


@pytest.mark.parametrize("field", ["counter", "command", "timestamp_s"])
def test_changing_any_covered_field_breaks_the_mac(field):
    genuine = packet(3, 1.0, command=FobCommandKind.STOP)
    changed = {"counter": 4, "command": FobCommandKind.HOLD, "timestamp_s": 1.01}[field]
    tampered = FobPacket(genuine.received_t_s, genuine.vehicle_id,
                         changed if field == "counter" else genuine.counter,
                         changed if field == "command" else genuine.command,
                         changed if field == "timestamp_s" else genuine.timestamp_s, genuine.mac, 2.0)
    assert FobVerifier(SETTINGS, KEY).check(tampered, 1.0).reason == REASON_FORGED


def test_a_packet_for_another_car_is_refused():
    assert FobVerifier(SETTINGS, KEY).check(packet(1, 1.0, vehicle="PP-OTHER"), 1.0).reason == REASON_WRONG_VEHICLE


def test_a_packet_held_back_longer_than_the_age_limit_is_stale():
    verifier = FobVerifier(SETTINGS, KEY)
    late = packet(1, 2.0, sent_s=2.0 - SETTINGS.max_age_s - 0.05)
    assert verifier.check(late, 2.0).reason == REASON_STALE
    assert verifier.last_counter is None  # a refused packet does not move the counter on


def test_without_a_key_every_packet_is_refused():
    assert FobVerifier(SETTINGS, None).check(packet(1, 1.0), 1.0).reason == REASON_FORGED


def test_the_key_file_round_trips_when_only_its_owner_can_read_it(tmp_path):
    path = write_key(tmp_path / "fob.key", KEY)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_key(path) == KEY


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    path = write_key(tmp_path / "fob.key", KEY)
    os.chmod(path, mode)
    with pytest.raises(ConfigError, match="group or others"):
        load_key(path)


def test_a_short_or_garbled_key_is_refused(tmp_path):
    short = write_key(tmp_path / "short.key", bytes(8))
    with pytest.raises(ConfigError, match="at least 16"):
        load_key(short)
    garbled = tmp_path / "garbled.key"
    garbled.write_text("not hex")
    os.chmod(garbled, 0o600)
    with pytest.raises(ConfigError, match="hexadecimal"):
        load_key(garbled)
