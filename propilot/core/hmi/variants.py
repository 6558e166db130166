"""HMI variants as data: what a driving-simulator study compares between conditions.

In: a YAML variant file (see sim/hmi_variants/README.md). Out: a validated `HmiVariant`
whose `node_settings()` are the node parameter overrides that realise it (the HMI node's
`hmi.*` and the behaviour node's `planner.proposal_timeout_s`), or a `ConfigError`
naming the file, the field and the reason. Bounds are those of the settings spec, so a
variant cannot leave the regulated ranges (e.g. UN R171 escalation timings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propilot.core.hmi.engagement import HmiSettings
from propilot.core.planning.behaviour import PlannerSettings
from propilot.core.settings import ConfigError, from_mapping, key_name, read_yaml

MODALITIES = ("visual", "visual+sound")
APPROVALS = ("manual", "automatic")
# variant field -> (node, group, setting name)
_WARNING_FIELDS = {
    "eyes_off_request_s": "eyes_off_request_s",
    "escalate_after_s": "escalate_after_s",
    "direct_control_after_s": "direct_control_after_s",
    "risk_stop_after_s": "risk_stop_after_s",
}
_KNOWN = ("name", "description", "proposal_timeout_s", "modality", "countdown", "approval", "warnings")


@dataclass(frozen=True, slots=True)
class HmiVariant:
    name: str
    description: str
    proposal_timeout_s: float  # time to confirm a proposal
    modality: str  # visual | visual+sound
    countdown: bool  # the display shows the time left
    approval: str  # manual | automatic
    warnings: dict[str, float]  # eyes-off escalation timings, HmiSettings names -> seconds

    def node_settings(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{node: {group: {name: value}}}: the parameter overrides of this variant."""
        hmi = {"approval": self.approval, "proposal_sound": self.modality == "visual+sound",
               "show_countdown": self.countdown, **self.warnings}
        return {"hmi": {"hmi": hmi}, "behaviour": {"planner": {"proposal_timeout_s": self.proposal_timeout_s}}}


def load_variant(path: str | Path) -> HmiVariant:
    """The variant file at path, validated; a ConfigError names file, field and reason."""
    origin = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(origin, "(root)", "expected a mapping of variant fields")
    unknown = sorted(set(data) - set(_KNOWN), key=str)
    if unknown:
        raise ConfigError(origin, key_name(unknown[0]), f"unknown field (known: {', '.join(_KNOWN)})")
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(origin, "name", f"expected a non-empty string, got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(origin, "description", f"expected a string, got {description!r}")
    modality = data.get("modality", "visual+sound")
    if modality not in MODALITIES:
        raise ConfigError(origin, "modality", f"must be one of {', '.join(MODALITIES)}, got {modality!r}")
    approval = data.get("approval", "manual")
    if approval not in APPROVALS:
        raise ConfigError(origin, "approval", f"must be one of {', '.join(APPROVALS)}, got {approval!r}")
    countdown = data.get("countdown", True)
    if not isinstance(countdown, bool):
        raise ConfigError(origin, "countdown", f"expected true or false, got {countdown!r}")
    timeout = data.get("proposal_timeout_s", PlannerSettings().proposal_timeout_s)
    from_mapping(PlannerSettings, {"proposal_timeout_s": timeout}, origin)  # bounds of the spec
    warnings = data.get("warnings") or {}
    if not isinstance(warnings, dict):
        raise ConfigError(origin, "warnings", "expected a mapping of escalation timings")
    unknown = sorted(set(warnings) - set(_WARNING_FIELDS), key=str)
    if unknown:
        raise ConfigError(origin, f"warnings.{key_name(unknown[0])}",
                          f"unknown timing (known: {', '.join(_WARNING_FIELDS)})")
    settings = {_WARNING_FIELDS[k]: v for k, v in warnings.items()}
    from_mapping(HmiSettings, settings, origin, prefix="warnings.")  # R171 bounds of the spec
    return HmiVariant(name, description, float(timeout), modality, countdown, approval,
                      {k: float(v) for k, v in settings.items()})


def merge_settings(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """{node: {group: {name: value}}} with overrides on top (the scenario's own values stay otherwise)."""
    merged = {node: {group: dict(values or {}) for group, values in (groups or {}).items()}
              for node, groups in base.items()}
    for node, groups in overrides.items():
        for group, values in groups.items():
            merged.setdefault(node, {}).setdefault(group, {}).update(values)
    return merged
