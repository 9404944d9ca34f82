"""The cost estimate and the crossed upgrade notes of an environment's plan.

The estimate reads the spec at each side (node groups, region, Kubernetes version) and prices it with the
shipped, dated list prices of :mod:`generator.platform.prices`: per node group the monthly (730 h) on-demand
price of its instances and their gp3 root volumes at ``minSize`` and at ``maxSize``, plus the EKS cluster fee
(extended support when the version is in it today). It is an upper-bound style estimate, labelled as such: spot
groups are priced at the on-demand rate (an upper bound), a group listing several types at its dearest one, and
what the table cannot price is *unknown*, never 0 (and makes the totals unknown).

Upgrade notes come from :mod:`generator.platform.upgrade_notes` for every version that changes between the
sides: each hub's chart (its rendered HelmRelease), the platform charts (their rendered HelmReleases) and
``cluster.kubernetesVersion`` (the spec).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from generator.platform import eks_versions, prices, upgrade_notes
from generator.platform.upgrade_notes import UpgradeNote


@dataclass(frozen=True)
class GroupCost:
    name: str
    purpose: str
    instance_types: tuple[str, ...]
    #: The type the group is priced at (the dearest of ``instance_types``; None when none is priced).
    priced_type: str | None
    capacity_type: str
    min_size: int
    max_size: int
    disk_gb: int
    #: Monthly price of one node (instance + root volume); None when unknown.
    node_usd: float | None

    @property
    def spot(self) -> bool:
        return self.capacity_type == "spot"

    def at(self, nodes: int) -> float | None:
        return None if self.node_usd is None else round(self.node_usd * nodes, 2)

    @property
    def unknown_types(self) -> tuple[str, ...]:
        return tuple(t for t in self.instance_types if t != self.priced_type) if self.node_usd is None else ()

    def to_dict(self) -> dict:
        return {"name": self.name, "purpose": self.purpose, "instanceTypes": list(self.instance_types),
                "pricedType": self.priced_type, "capacityType": self.capacity_type,
                "spotAtOnDemandPrice": self.spot, "minSize": self.min_size, "maxSize": self.max_size,
                "diskGiB": self.disk_gb, "nodeMonthlyUsd": _r(self.node_usd),
                "minMonthlyUsd": self.at(self.min_size), "maxMonthlyUsd": self.at(self.max_size)}


@dataclass(frozen=True)
class CostEstimate:
    region: str
    #: The table's region the prices come from (``region`` itself, or the fallback region).
    price_region: str
    kubernetes_version: str
    extended_support: bool
    control_plane_usd: float
    groups: tuple[GroupCost, ...]
    table_date: str = prices.TABLE_DATE

    @property
    def exact_region(self) -> bool:
        return self.price_region == self.region

    def _total(self, pick: Callable[[GroupCost], float | None]) -> float | None:
        parts = [pick(g) for g in self.groups]
        return None if any(p is None for p in parts) else round(self.control_plane_usd + sum(parts), 2)

    @property
    def min_usd(self) -> float | None:
        return self._total(lambda g: g.at(g.min_size))

    @property
    def max_usd(self) -> float | None:
        return self._total(lambda g: g.at(g.max_size))

    @property
    def label(self) -> str:
        where = self.region if self.exact_region else f"{self.price_region} prices standing in for {self.region}"
        return f"estimate, on-demand list prices of {self.table_date}, {where}"

    def to_dict(self) -> dict:
        return {"label": self.label, "tableDate": self.table_date, "region": self.region,
                "priceRegion": self.price_region, "hoursPerMonth": prices.HOURS_PER_MONTH,
                "kubernetesVersion": self.kubernetes_version, "extendedSupport": self.extended_support,
                "controlPlaneMonthlyUsd": self.control_plane_usd, "nodeGroups": [g.to_dict() for g in self.groups],
                "minMonthlyUsd": self.min_usd, "maxMonthlyUsd": self.max_usd}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def group_cost(group: dict, region: str) -> GroupCost:
    """One node group's price per node, from its spec entry (defaults as the schema's)."""
    types = tuple(t for t in group.get("instanceTypes") or () if isinstance(t, str))
    disk = _int(group.get("diskSize"), 100)
    found = [(p.usd_per_hour, t) for t in types if (p := prices.lookup(region, t)) is not None]
    node_usd = None
    dearest = max(found, key=lambda f: f[0]) if found else None  # the first listed among equal prices
    priced = dearest[1] if dearest else None
    if dearest and len(found) == len(types):
        gp3, _ = prices.gp3_usd_per_gb_month(region)
        node_usd = round(dearest[0] * prices.HOURS_PER_MONTH + disk * gp3, 4)
    return GroupCost(name=str(group.get("name", "?")), purpose=str(group.get("purpose", "user")),
                     instance_types=types, priced_type=priced,
                     capacity_type=str(group.get("capacityType", "on-demand")),
                     min_size=_int(group.get("minSize"), 0), max_size=_int(group.get("maxSize"), 0),
                     disk_gb=disk, node_usd=node_usd)


def estimate(spec: dict) -> CostEstimate | None:
    """The monthly estimate of a spec's cluster; None when the spec has no region or node groups to price."""
    region = (spec.get("aws") or {}).get("region") if isinstance(spec.get("aws"), dict) else None
    cluster = spec.get("cluster") if isinstance(spec.get("cluster"), dict) else {}
    groups = [g for g in cluster.get("nodeGroups") or () if isinstance(g, dict)]
    if not isinstance(region, str) or not groups:
        return None
    version = str(cluster.get("kubernetesVersion", ""))
    extended = eks_versions.support(version, eks_versions.today()).status == eks_versions.EXTENDED
    price_region = region if region in prices.regions() else prices.FALLBACK_REGION
    return CostEstimate(region=region, price_region=price_region, kubernetes_version=version,
                        extended_support=extended,
                        control_plane_usd=round(prices.eks_usd_per_hour(extended) * prices.HOURS_PER_MONTH, 2),
                        groups=tuple(group_cost(g, region) for g in groups))


def usd(value: float | None) -> str:
    """``$1,234.56``; ``unknown`` for a price the table does not have (never $0)."""
    return "unknown" if value is None else f"${value:,.2f}"


def delta(old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return "unknown"
    d = round(new - old, 2)
    return ("+" if d >= 0 else "-") + f"${abs(d):,.2f}"


def range_text(est: CostEstimate) -> str:
    return f"{usd(est.min_usd)} - {usd(est.max_usd)} per month"


def group_notes(g: GroupCost) -> list[str]:
    """Why a group's price is an upper bound or unknown (empty: a plain on-demand price)."""
    if g.node_usd is None:
        missing = [t for t in g.instance_types if prices.lookup(prices.FALLBACK_REGION, t) is None]
        return [f"no price for {', '.join(missing or g.instance_types or ('its instance types',))}"]
    notes = []
    if g.spot:
        notes.append("spot, shown at the on-demand price (upper bound)")
    if len(g.instance_types) > 1:
        notes.append(f"priced at its dearest type {g.priced_type}")
    return notes


def group_line(g: GroupCost) -> str:
    """``core (core) m5.xlarge x1-4, 100 GiB: $148.16 - $592.64``, with why a price is an upper bound or
    unknown."""
    types = ",".join(g.instance_types) or "(none)"
    amount = "unknown" if g.node_usd is None else f"{usd(g.at(g.min_size))} - {usd(g.at(g.max_size))}"
    notes = group_notes(g)
    return f"{g.name} ({g.purpose}) {types} x{g.min_size}-{g.max_size}, {g.disk_gb} GiB: {amount}" + (
        f" ({'; '.join(notes)})" if notes else "")


def control_plane_line(est: CostEstimate) -> str:
    support = "extended support" if est.extended_support else "standard support"
    return f"EKS control plane ({est.kubernetes_version or '?'}, {support}): {usd(est.control_plane_usd)}"


# ------------------------------------------------------------------ upgrade notes
@dataclass(frozen=True)
class CrossedNote:
    """An upgrade note an environment's change crosses, and where (``where``: "hub jhub", "cluster")."""

    where: str
    old: str
    new: str
    note: UpgradeNote

    def warning(self) -> str:
        n = self.note
        kind = "breaking change" if n.breaking else "upgrade note"
        return (f"{kind} crossed by {self.where} {n.component} {self.old} -> {self.new}: {n.component} {n.version} "
                f"({n.date}): {n.title}. What to do: {n.action} ({n.source})")

    def to_dict(self) -> dict:
        return {"where": self.where, "from": self.old, "to": self.new, **self.note.to_dict()}


def crossed_notes(changes: list[tuple[str, str, str | None, str | None]]) -> list[CrossedNote]:
    """The notes crossed by each (where, component, old, new) version change (a side without the component,
    a new install or a removal, crosses nothing)."""
    out = []
    for where, component, old, new in changes:
        if old is None or new is None or old == new:
            continue
        out += [CrossedNote(where, old, new, n) for n in upgrade_notes.crossed(component, old, new)]
    return out
