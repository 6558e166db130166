"""Map problems: one per element that is wrong, and the error that carries all of them.

In: where (file, element id) and why. Out: `MapProblem` values and `MapError`, whose message lists
every problem, one per line as `file: element: reason`.
"""

from __future__ import annotations

from dataclasses import dataclass

from propilot.core.settings import ConfigError


@dataclass(frozen=True)
class MapProblem:
    file: str
    element_id: int | str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.element_id}: {self.reason}"


class MapError(ConfigError):
    """The map or its map.yaml is invalid; `problems` holds every problem, not just the first."""

    def __init__(self, problems: list[MapProblem]):
        first = problems[0] if problems else MapProblem("?", "?", "unknown map problem")
        super().__init__(first.file, str(first.element_id), first.reason)
        self.problems = list(problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
