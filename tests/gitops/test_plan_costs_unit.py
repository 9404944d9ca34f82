"""The cost estimate of a plan, computed from spec data (generator/plan/costs.py): the arithmetic, the
extended-support fee, regions outside the price table, and crossed upgrade notes."""

from __future__ import annotations

from datetime import date

import pytest

from generator.platform import eks_versions, prices
from generator.plan import costs


def _spec(region: str = "us-west-2", version: str = "1.35", *groups: dict) -> dict:
    return {"aws": {"region": region}, "cluster": {"kubernetesVersion": version, "nodeGroups": list(groups) or [
        {"name": "core", "purpose": "core", "instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 3}]}}


@pytest.fixture
def today(monkeypatch):
    def pin(day: date) -> None:
        monkeypatch.setattr(eks_versions, "today", lambda: day)
    pin(date(2026, 12, 1))
    return pin


def test_arithmetic_of_one_group(today) -> None:
    """m6i.large 0.096 x 730 = 70.08, default 100 GiB x 0.08 = 8.00: 78.08 a node; control plane 73.00."""
    est = costs.estimate(_spec())
    [g] = est.groups
    assert (g.node_usd, g.at(2), g.at(3), g.disk_gb) == (78.08, 156.16, 234.24, 100)
    assert (est.control_plane_usd, est.min_usd, est.max_usd) == (73.0, 229.16, 307.24)
    assert est.label == f"estimate, on-demand list prices of {prices.TABLE_DATE}, us-west-2"
    assert costs.range_text(est) == "$229.16 - $307.24 per month"


def test_extended_support_fee_follows_todays_calendar(today) -> None:
    today(date(2026, 12, 1))
    assert costs.estimate(_spec(version="1.32")).extended_support is True
    assert costs.estimate(_spec(version="1.32")).control_plane_usd == 438.0  # 0.60 x 730
    today(date(2026, 3, 1))
    assert costs.estimate(_spec(version="1.32")).control_plane_usd == 73.0


def test_a_region_outside_the_table_uses_the_fallback_and_says_so(today) -> None:
    est = costs.estimate(_spec(region="eu-west-1"))
    assert (est.price_region, est.exact_region) == ("us-east-1", False)
    assert est.label.endswith("us-east-1 prices standing in for eu-west-1")
    assert est.min_usd == costs.estimate(_spec(region="us-east-1")).min_usd


def test_unknown_is_never_zero(today) -> None:
    est = costs.estimate(_spec("us-east-1", "1.35",
                               {"name": "core", "purpose": "core", "instanceTypes": ["m5.large"], "minSize": 1,
                                "maxSize": 1},
                               {"name": "big", "instanceTypes": ["p5.48xlarge", "m5.large"], "minSize": 0,
                                "maxSize": 1}))
    big = est.groups[1]
    assert big.node_usd is None and big.at(0) is None
    assert (est.min_usd, est.max_usd) == (None, None)
    assert costs.group_line(big) == "big (user) p5.48xlarge,m5.large x0-1, 100 GiB: unknown (no price for p5.48xlarge)"
    assert costs.usd(None) == "unknown" and costs.delta(None, 3.0) == "unknown"
    assert costs.delta(10.0, 7.5) == "-$2.50" and costs.delta(1.0, 1.0) == "+$0.00"


def test_spot_and_several_types(today) -> None:
    g = costs.group_cost({"name": "u", "instanceTypes": ["m5a.xlarge", "m5.xlarge", "m6i.xlarge"],
                          "capacityType": "spot", "minSize": 0, "maxSize": 2, "diskSize": 20}, "us-east-1")
    assert g.priced_type == "m5.xlarge" and g.spot  # dearest (m5 and m6i tie at 0.192: the first listed)
    assert g.node_usd == round(0.192 * 730 + 20 * 0.08, 4)
    assert costs.group_notes(g) == ["spot, shown at the on-demand price (upper bound)",
                                    "priced at its dearest type m5.xlarge"]


def test_nothing_to_price() -> None:
    assert costs.estimate({"cluster": {"nodeGroups": []}, "aws": {"region": "us-east-1"}}) is None
    assert costs.estimate({"cluster": {}}) is None


def test_crossed_notes_skip_installs_removals_and_unchanged() -> None:
    notes = costs.crossed_notes([("hub a", "jupyterhub", None, "4.4.0"), ("hub b", "jupyterhub", "4.4.0", None),
                                 ("hub c", "jupyterhub", "4.4.0", "4.4.0"),
                                 ("hub d", "jupyterhub", "4.2.0", "4.4.0"),
                                 ("cluster", "kubernetes", "1.32", "1.33")])
    assert [(n.where, n.note.version) for n in notes] == [("hub d", "4.3.0"), ("cluster", "1.33")]
    assert notes[1].warning().startswith("breaking change crossed by cluster kubernetes 1.32 -> 1.33: "
                                         "kubernetes 1.33 (2025-05-29): no EKS-optimized Amazon Linux 2 AMI.")
