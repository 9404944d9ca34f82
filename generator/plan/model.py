"""What a plan says: data only (computed by :mod:`generator.plan.compute`, printed by
:mod:`generator.plan.formats`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from generator.plan.costs import CostEstimate, CrossedNote, delta
from generator.problems import Problem

TIERS = ("staging", "production")


class Status(str, enum.Enum):
    NEW = "new"  # the spec exists at head only: the stack is created
    REMOVED = "removed"  # the spec exists at base only: NOTHING is deleted automatically
    CHANGED = "changed"  # files of the environment changed
    AFFECTED = "affected"  # only a shared file (template, hubgen) changed


class Action(str, enum.Enum):
    """What CI does with the environment's CloudFormation stack."""

    CREATE = "create"  # `hubgen deploy` creates the stack
    UPDATE = "update"  # `hubgen deploy` updates it through a change set (no changes = success)
    NONE = "none"  # nothing for CloudFormation (Flux may still have work)
    MANUAL = "manual"  # a person must act (removed environment: delete the stack by hand)


@dataclass(frozen=True)
class Change:
    """One key whose value changed; ``old`` None = added, ``new`` None = removed."""

    key: str
    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"

    def to_dict(self) -> dict:
        return {"key": self.key, "old": self.old, "new": self.new, "change": self.kind}


@dataclass(frozen=True)
class Stack:
    """Where an environment's CloudFormation stack lives and who deploys it."""

    name: str
    account: str
    region: str
    role: str

    def to_dict(self) -> dict:
        return {"name": self.name, "account": self.account, "region": self.region, "role": self.role}

    def where(self) -> str:
        return f"{self.name} in {self.account}/{self.region}"


@dataclass
class HubPlan:
    name: str
    status: Status  # NEW, REMOVED or CHANGED
    namespace: str = ""
    chart_old: str | None = None
    chart_new: str | None = None
    values: list[Change] = field(default_factory=list)

    @property
    def chart_changed(self) -> bool:
        return self.chart_old != self.chart_new

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "status": self.status.value,
            "namespace": self.namespace,
            "chart": {"old": self.chart_old, "new": self.chart_new},
            "values": [c.to_dict() for c in self.values],
        }


@dataclass(frozen=True)
class FileChange:
    path: str
    change: str  # added / changed / removed

    def to_dict(self) -> dict:
        return {"path": self.path, "change": self.change}


@dataclass
class EnvPlan:
    name: str
    status: Status
    tier: str
    stack: Stack | None
    #: The stack at base when its name, account or region changed (a new stack is created).
    old_stack: Stack | None = None
    reasons: list[str] = field(default_factory=list)
    template: str = ""
    template_changed: bool = False
    parameters: list[Change] = field(default_factory=list)
    tags: list[Change] = field(default_factory=list)
    hubs: list[HubPlan] = field(default_factory=list)
    #: Other generated manifests Flux applies (aws-auth, Flux Kustomizations, namespaces...).
    flux_files: list[FileChange] = field(default_factory=list)
    #: sops-encrypted secret files (names only, never content).
    secrets: list[FileChange] = field(default_factory=list)
    tier_old: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    hubgen_changed: bool = False
    #: `render --check` errors at the head side (HG401-HG407, or the spec's own errors): the generated files
    #: the plan read are not what the spec renders to (see :mod:`generator.plan.drift`).
    drift: list[Problem] = field(default_factory=list)
    #: Whether the drift is only that the spec has errors (so its generated files could not be checked).
    spec_invalid: bool = False
    #: Monthly cost estimate of the head side's spec (None: nothing to price), and of the base side's.
    costs: CostEstimate | None = None
    costs_base: CostEstimate | None = None
    #: Upgrade notes the version changes of this plan cross (each is also one of ``warnings``).
    upgrade_notes: list[CrossedNote] = field(default_factory=list)

    @property
    def tier_rank(self) -> int:
        """Staging first; anything unknown is treated as production (deployed last)."""
        return 0 if self.tier == "staging" else 1

    @property
    def action(self) -> Action:
        if self.status is Status.REMOVED:
            return Action.MANUAL
        if self.errors or self.stack is None:
            return Action.NONE
        if self.status is Status.NEW or self.old_stack is not None:
            return Action.CREATE
        if self.parameters or self.tags or self.template_changed or self.hubgen_changed:
            return Action.UPDATE
        return Action.NONE

    @property
    def deploys(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE)

    @property
    def flux_work(self) -> bool:
        return bool(self.hubs or self.flux_files or self.secrets)

    def effects(self) -> list[str]:
        """Short labels of what happens, for summaries."""
        out = []
        if self.status is Status.REMOVED:
            return ["REMOVED - stack NOT deleted"]
        if self.action is Action.CREATE:
            out.append("stack create")
        elif self.action is Action.UPDATE:
            out.append("stack update")
        for hub in self.hubs:
            out.append({Status.NEW: f"hub {hub.name} install", Status.REMOVED: f"hub {hub.name} REMOVED"}
                       .get(hub.status, f"hub {hub.name} upgrade"))
        if self.flux_files:
            out.append("Flux manifests")
        if self.secrets:
            out.append("secrets")
        if not out and not self.errors:
            out.append("no deployable change")
        return out

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "status": self.status.value,
            "tier": self.tier,
            "tier_old": self.tier_old,
            "action": self.action.value,
            "deploy": self.deploys,
            "stack": self.stack.to_dict() if self.stack else None,
            "old_stack": self.old_stack.to_dict() if self.old_stack else None,
            "reasons": self.reasons,
            "template": self.template,
            "template_changed": self.template_changed,
            "hubgen_changed": self.hubgen_changed,
            "parameters": [c.to_dict() for c in self.parameters],
            "tags": [c.to_dict() for c in self.tags],
            "hubs": [h.to_dict() for h in self.hubs],
            "flux_files": [f.to_dict() for f in self.flux_files],
            "secrets": [f.to_dict() for f in self.secrets],
            "effects": self.effects(),
            "warnings": self.warnings,
            "errors": self.errors,
            "drift": [p.to_dict() for p in self.drift],
            "costs": self.costs_dict(),
            "upgrade_notes": [n.to_dict() for n in self.upgrade_notes],
        }

    @property
    def costs_changed(self) -> bool:
        """Whether the base side has an estimate whose totals differ from the head's."""
        return (self.costs is not None and self.costs_base is not None
                and (self.costs_base.min_usd, self.costs_base.max_usd) != (self.costs.min_usd, self.costs.max_usd))

    def costs_dict(self) -> dict | None:
        if self.costs is None:
            return None
        out = self.costs.to_dict()
        base = self.costs_base
        out["base"] = None if base is None else {"minMonthlyUsd": base.min_usd, "maxMonthlyUsd": base.max_usd}
        out["change"] = None if not self.costs_changed else {
            "min": delta(base.min_usd, self.costs.min_usd), "max": delta(base.max_usd, self.costs.max_usd)}
        return out


@dataclass
class Plan:
    base: str  # labels for people: "origin/main (1a2b3c4d5e6f)", "working tree"
    head: str
    environments: list[EnvPlan] = field(default_factory=list)
    #: Changed shared paths (templates, hubgen itself).
    shared: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.order()

    def order(self) -> None:
        """Staging-tier environments before production ones, then by name."""
        self.environments.sort(key=lambda e: (e.tier_rank, e.name))

    @property
    def ok(self) -> bool:
        return not any(e.errors for e in self.environments)

    @property
    def stale(self) -> list[str]:
        """Environments whose generated files are not what their spec renders to, at the head side."""
        return sorted(e.name for e in self.environments if e.drift and not e.spec_invalid)

    @property
    def fix(self) -> str | None:
        """The one command that brings the stale environments' generated files up to date (None: none are)."""
        return "hubgen render " + " ".join(self.stale) if self.stale else None

    def deploying(self, tier: str) -> list[EnvPlan]:
        rank = 0 if tier == "staging" else 1
        return [e for e in self.environments if e.deploys and e.tier_rank == rank]

    @property
    def removed(self) -> list[EnvPlan]:
        return [e for e in self.environments if e.status is Status.REMOVED]

    @property
    def removed_hubs(self) -> list[tuple[EnvPlan, HubPlan]]:
        return [(e, h) for e in self.environments for h in e.hubs if h.status is Status.REMOVED]
