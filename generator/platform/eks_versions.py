"""A dated calendar of the Kubernetes minor versions Amazon EKS offers, and what a version's support status is
on a given day.

EKS supports a minor version for 14 months after its EKS release (standard support), then for 12 more months at
extra cost (extended support: USD 0.60 instead of 0.10 per cluster hour); after that EKS upgrades the cluster
itself and new clusters cannot be created with it. "Billing for extended support starts at the beginning of the
day that the version reaches end of standard support", so the end dates below are the first day of the next
phase.

Why a calendar and not the EKS API: hubgen validates offline. The calendar is dated (:data:`CALENDAR_DATE`); a
test fails when it is more than a year old, and a version newer than the calendar is refused (HG228) rather
than assumed fine, so a new EKS version means a new hubgen release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

CALENDAR_DATE = "2026-12-01"
CALENDAR_SOURCE = (
    "Amazon EKS User Guide, 'Understand the Kubernetes version lifecycle on EKS' (Amazon EKS Kubernetes release "
    "calendar, https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html), cross-checked with "
    "https://endoflife.date/amazon-eks"
)
#: Extra cost of a cluster in extended support (EKS pricing: USD 0.60 instead of 0.10 per cluster hour).
EXTENDED_SUPPORT_EXTRA_USD_PER_HOUR = 0.50

STANDARD = "standard"
EXTENDED = "extended"
ENDED = "ended"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Version:
    version: str
    #: The day EKS made the version available.
    released: date
    #: The first day of extended support.
    end_of_standard: date
    #: The first day EKS no longer supports the version.
    end_of_extended: date


CALENDAR: tuple[Version, ...] = (
    Version("1.28", date(2023, 9, 26), date(2024, 11, 26), date(2025, 11, 26)),
    Version("1.29", date(2024, 1, 23), date(2025, 3, 23), date(2026, 3, 23)),
    Version("1.30", date(2024, 5, 23), date(2025, 7, 23), date(2026, 7, 23)),
    Version("1.31", date(2024, 9, 26), date(2025, 11, 26), date(2026, 11, 26)),
    Version("1.32", date(2025, 1, 23), date(2026, 3, 23), date(2027, 3, 23)),
    Version("1.33", date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    Version("1.34", date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    Version("1.35", date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
)
_BY_VERSION = {v.version: v for v in CALENDAR}


@dataclass(frozen=True)
class Support:
    """A version's status on a day: STANDARD, EXTENDED, ENDED or UNKNOWN (not in the calendar)."""

    status: str
    version: Version | None = None

    @property
    def ends(self) -> date | None:
        """When the current phase ends: standard support's end, extended support's end; None otherwise."""
        if self.version is None:
            return None
        return {STANDARD: self.version.end_of_standard, EXTENDED: self.version.end_of_extended}.get(self.status)


def lookup(version: str) -> Version | None:
    return _BY_VERSION.get(version)


def support(version: str, today: date) -> Support:
    """The support status of ``version`` on ``today``."""
    v = _BY_VERSION.get(version)
    if v is None:
        return Support(UNKNOWN)
    if today < v.end_of_standard:
        return Support(STANDARD, v)
    if today < v.end_of_extended:
        return Support(EXTENDED, v)
    return Support(ENDED, v)


def offered(today: date) -> tuple[str, ...]:
    """Versions a cluster can run on ``today`` (standard or extended support), oldest first."""
    return tuple(v.version for v in CALENDAR if support(v.version, today).status in (STANDARD, EXTENDED))


def in_standard_support(today: date) -> tuple[str, ...]:
    return tuple(v.version for v in CALENDAR if support(v.version, today).status == STANDARD)


def extended_support_extra_usd_per_month(hours: float = 730) -> float:
    """What extended support adds to a cluster's bill in a month of ``hours`` (730: a year's average month)."""
    return EXTENDED_SUPPORT_EXTRA_USD_PER_HOUR * hours


def today() -> date:
    """The day the version checks judge by (one place, so tests can pin it)."""
    return date.today()
