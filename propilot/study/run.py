"""Run a study for one participant: conditions in counterbalanced order, trials, instructions.

In: a `Study`, the participant id, an output folder, and either scripted (the virtual driver
with the condition's behaviour, as fast as it runs) or a live display (a person at the page,
keyboard or wheel, in real time). Out: OUT/<participant>/<nn>_<condition>_<scenario>/ with
run.mcap (every topic), result.json, events.csv and trial.json per trial, and
OUT/<participant>/trials.csv listing the trials in the order driven.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

from propilot.core.types import DriverInput, DriverMonitorReading, HmiState, PilotState
from propilot.hmi_web.session import with_variant
from propilot.hmi_web.view import Screen, display_view
from propilot.sim.runner import run_scenario
from propilot.sim.scenario import load_scenario
from propilot.study.events import TrialEvents, write_events
from propilot.study.order import condition_order
from propilot.study.spec import Condition, Study, StudyScenario

LOG = logging.getLogger("propilot.study")
TRIAL_FIELDS = ("participant", "trial", "condition", "variant", "scenario", "folder", "passed", "sim_time_s")


class HookChain:
    """Several step hooks run as one, in order (e.g. the live display, then the events recorder)."""

    def __init__(self, *hooks):
        self.hooks = [h for h in hooks if h is not None]

    def before_step(self, t_s: float, inputs: list[DriverInput], monitor: DriverMonitorReading
                    ) -> tuple[list[DriverInput], DriverMonitorReading]:
        for hook in self.hooks:
            inputs, monitor = hook.before_step(t_s, inputs, monitor)
        return inputs, monitor

    def after_step(self, t_s: float, hmi: HmiState, backend) -> None:
        for hook in self.hooks:
            hook.after_step(t_s, hmi, backend)


def show_instructions(display, title: str, text: str, scripted: bool) -> None:
    """The instruction screen: on the display until the participant continues (scripted: logged only)."""
    LOG.info("instructions: %s: %s", title, text.strip())
    if display is None:
        return
    display.screen = Screen(title, text, wait_for_continue=not scripted)
    display.server.publish(display_view(HmiState(0.0, PilotState.OFF), screen=display.screen))
    if not scripted:
        display.server.take_messages()  # a press from before the screen does not count
        while not any(m.kind == "continue" for m in display.server.take_messages()):
            time.sleep(0.05)
        # until the drive's first step replaces it (loading the map and the traffic takes a moment)
        display.server.publish(display_view(HmiState(0.0, PilotState.OFF),
                                            screen=Screen(title, "Starting ...", wait_for_continue=False)))
    display.screen = None


def _trial_scenario(condition: Condition, entry: StudyScenario, scripted: bool):
    scenario = with_variant(load_scenario(entry.path), condition.variant)
    if entry.duration_s is not None:
        scenario = replace(scenario, duration_s=entry.duration_s)
    b = condition.participant
    driver = (replace(scenario.driver, proposals=b.proposals, reaction_s=b.reaction_s,
                      eyes_off=b.eyes_off or scenario.driver.eyes_off, takes_over=b.takes_over) if scripted
              else replace(scenario.driver, proposals="ignore"))  # a person answers the proposals
    return replace(scenario, driver=driver)


def run_study(study: Study, participant: str, out: Path, scripted: bool, display=None,
              progress: bool = False) -> list[dict]:
    """Every trial of the participant; returns the rows of trials.csv."""
    folder = out / participant
    folder.mkdir(parents=True, exist_ok=True)
    order = condition_order(len(study.conditions), participant)
    LOG.info("%s: conditions in the order %s", participant, [study.conditions[i].name for i in order])
    trials = []
    for i in order:
        condition = study.conditions[i]
        if condition.instructions:
            show_instructions(display, condition.name, condition.instructions, scripted)
        for entry in condition.scenarios:
            scenario = _trial_scenario(condition, entry, scripted)
            if entry.instructions:
                show_instructions(display, scenario.name, entry.instructions, scripted)
            number = len(trials) + 1
            trial_dir = folder / f"{number:02d}_{condition.name}_{scenario.name}"
            recorder = TrialEvents(automatic_approval=condition.variant.approval == "automatic")
            if display is not None:
                display.show_countdown = condition.variant.countdown
            result = run_scenario(scenario, trial_dir, "lockstep", progress=progress,
                                  hook=HookChain(display, recorder))
            write_events(recorder.finish(), trial_dir / "events.csv")
            row = {"participant": participant, "trial": number, "condition": condition.name,
                   "variant": condition.variant.name, "scenario": scenario.name, "folder": trial_dir.name,
                   "passed": result["passed"], "sim_time_s": result["sim_time_s"]}
            (trial_dir / "trial.json").write_text(json.dumps({**row, "study": study.name, "scripted": scripted,
                                                              "variant_settings": condition.variant.node_settings()},
                                                             indent=2) + "\n")
            trials.append(row)
            LOG.info("trial %d: %s / %s done", number, condition.name, scenario.name)
    with (folder / "trials.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TRIAL_FIELDS)
        writer.writeheader()
        writer.writerows(trials)
    return trials
