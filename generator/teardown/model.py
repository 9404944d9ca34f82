"""The teardown plan: ordered steps of commands for a person to run, and what survives them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Action:
    """One thing to do within a step: what, the commands that do it (in order), and what to expect."""

    title: str
    commands: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Step:
    """A step of the teardown; ``why`` says why it comes at this point of the order."""

    id: str
    title: str
    why: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Survivor:
    """Something that outlives the teardown (``certain``) or may (``certain`` False: check), with how to find
    it and how to remove it once nobody needs it."""

    kind: str
    name: str
    reason: str
    find: tuple[str, ...] = ()
    cleanup: str = ""
    certain: bool = True


@dataclass(frozen=True)
class Teardown:
    environment: str
    tier: str
    account: str
    region: str
    stack: str
    steps: tuple[Step, ...]
    survivors: tuple[Survivor, ...]
    #: Things the plan could not check or that the reader must know before starting.
    notes: tuple[str, ...] = field(default=())

    @property
    def cluster(self) -> str:
        """The EKS cluster's name: the template names it after the stack."""
        return self.stack

    def commands(self) -> list[str]:
        """Every command of every step, in order."""
        return [c for s in self.steps for a in s.actions for c in a.commands]

    def to_dict(self) -> dict:
        return {
            "environment": self.environment,
            "tier": self.tier,
            "stack": {"name": self.stack, "cluster": self.cluster, "account": self.account, "region": self.region},
            "notes": list(self.notes),
            "steps": [{"number": i, **asdict(s)} for i, s in enumerate(self.steps, 1)],
            "survivors": [asdict(s) for s in self.survivors],
        }
