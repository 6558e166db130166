"""Driving-simulator HMI studies: study files, counterbalanced runs, trial events, analysis.

In: a study YAML (conditions = HMI variants, scenarios, instructions) and a participant id.
Out: per trial run.mcap, result.json and events.csv; per study tables and plots per condition.
`propilot study run|analyze` (cli.py) drives it.
"""
