"""What the checks conclude: a status per series, per node, and for the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field

from .reasons import EXIT_CODES, Reason, worst


@dataclass
class SeriesStatus:
    name: str
    reasons: list[Reason] = field(default_factory=list)
    newest: int | None = None          # epoch seconds UTC of the newest present backup
    size: int | None = None            # its size (files of one dated folder summed)
    previous_size: int | None = None
    count: int = 0                     # backups present on the node now

    @property
    def status(self) -> str:
        return worst(r.level for r in self.reasons)

    def age_hours(self, now: float) -> float | None:
        return None if self.newest is None else (now - self.newest) / 3600


@dataclass
class NodeStatus:
    node: str
    hub: str
    reasons: list[Reason] = field(default_factory=list)
    series: list[SeriesStatus] = field(default_factory=list)
    last_run_at: float | None = None
    last_run_ok: bool | None = None
    #: end of the latest good collection: the series are judged as of then (None: never)
    observed_at: float | None = None

    @property
    def last_good_at(self) -> float | None:
        """The latest good collection's end (the same time as :attr:`observed_at`)."""
        return self.observed_at

    @property
    def status(self) -> str:
        return worst([*(r.level for r in self.reasons), *(s.status for s in self.series)])


@dataclass
class Report:
    generated_at: float
    nodes: list[NodeStatus]

    @property
    def conclusion(self) -> str:
        return worst(n.status for n in self.nodes)

    @property
    def observed_at(self) -> float | None:
        """When the oldest of the nodes' data was observed (None: no node ever was)."""
        return min((n.observed_at for n in self.nodes if n.observed_at is not None),
                   default=None)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.conclusion]

    def node(self, name: str) -> NodeStatus:
        return next(n for n in self.nodes if n.node == name)
