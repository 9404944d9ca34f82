"""The price table (issue 14): internally consistent, covering the instance types hubgen's examples and tests
use, and answering honestly for regions and types it does not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.platform import eks_versions, instance_types, prices

from tests.core.specs import example_data

ROOT = Path(__file__).resolve().parents[2]
#: Families priced per vCPU on the standard ladder (price = vCPUs x a family rate); GPU families are not.
LADDER_FAMILIES = {"t3", "t3a", "m5", "m5a", "m6i", "m6a", "m7i", "m7a", "m6g", "m7g", "c5", "c6i", "c7i", "c6g",
                   "c7g", "r5", "r6i", "r7i", "r6g"}
GPU_FAMILIES = {"g4dn", "g5", "g6", "g6e"}


def _us() -> dict[str, float]:
    return prices.INSTANCE_USD_PER_HOUR["us-east-1"]


def test_every_priced_type_exists_and_costs_something() -> None:
    for region, table in prices.INSTANCE_USD_PER_HOUR.items():
        for name, usd in table.items():
            assert instance_types.lookup(name), (region, name)
            assert 0.001 < usd < 100, (region, name, usd)


@pytest.mark.parametrize("family", sorted(LADDER_FAMILIES))
def test_price_scales_with_vcpus_within_a_ladder_family(family: str) -> None:
    """Every size of a ladder family has the same price per vCPU (per GiB for the burstable t3/t3a, whose small
    sizes share 2 vCPUs): a typo in one size breaks this."""
    rates = {}
    for size in instance_types.family_sizes(family):
        name = f"{family}.{size}"
        assert name in _us(), f"{name} is not priced: a family is priced completely or not at all"
        t = instance_types.lookup(name)
        rates[name] = _us()[name] / (t.memory_gib if family.startswith("t") else t.vcpus)
    first = next(iter(rates.values()))
    for name, rate in rates.items():
        assert rate == pytest.approx(first, rel=0.002), (name, rate, first)


@pytest.mark.parametrize("family", sorted(GPU_FAMILIES))
def test_gpu_families_are_complete_and_monotonic(family: str) -> None:
    """A GPU size with at least the GPUs and vCPUs of another never costs less (g4dn.16xlarge, 1 GPU and 64
    vCPUs, does cost more than g4dn.12xlarge, 4 GPUs and 48 vCPUs: AWS prices the host too)."""
    types = [instance_types.lookup(f"{family}.{s}") for s in instance_types.family_sizes(family)]
    assert all(t.name in _us() for t in types), family
    for a in types:
        for b in types:
            if a.gpus <= b.gpus and a.vcpus <= b.vcpus:
                assert _us()[a.name] <= _us()[b.name], (a.name, b.name)


def test_family_relations_the_rate_cards_show() -> None:
    """Relations that hold on AWS's rate cards: Graviton below Intel, AMD below Intel, compute < general <
    memory at the same size, m6i at m5's price."""
    us = _us()
    assert us["m7g.large"] < us["m6i.large"] and us["c7g.large"] < us["c6i.large"]
    assert us["m6a.large"] < us["m6i.large"] and us["m5a.large"] < us["m5.large"]
    assert us["c6i.xlarge"] < us["m6i.xlarge"] < us["r6i.xlarge"]
    assert us["m6i.xlarge"] == us["m5.xlarge"]
    assert us["g6.xlarge"] < us["g5.xlarge"] and us["g4dn.xlarge"] < us["g6.xlarge"]


@pytest.mark.parametrize("name,usd", [("m7g.large", 0.0816), ("g5.xlarge", 1.006), ("c5.2xlarge", 0.34),
                                      ("c5.12xlarge", 2.04), ("c5.24xlarge", 4.08)])
def test_published_prices(name: str, usd: float) -> None:
    """Spot checks against the published us-east-1 figures the source names."""
    assert prices.lookup("us-east-1", name) == prices.Price(usd, "us-east-1", True)


def _used_instance_types() -> set[str]:
    """Every instance type the example specs and the test specs name (the ones people copy)."""
    used = {t for env in ("dev", "prod") for g in example_data(env)["cluster"]["nodeGroups"]
            for t in g["instanceTypes"]}
    pattern = re.compile(r"\b((?:t3a?|m[5-7][agi]?|c[5-7][gi]?|r[5-7][agi]?|g4dn|g5|g6e?)\.(?:nano|micro|small|"
                         r"medium|[0-9]*xlarge|large|metal(?:-[0-9]+xl)?))\b")
    for path in list((ROOT / "tests").rglob("*.py")) + list((ROOT / "tests").rglob("*.yaml")):
        used |= set(pattern.findall(path.read_text(errors="replace")))
    return {t for t in used if instance_types.lookup(t)}


def test_every_instance_type_the_examples_and_tests_use_is_priced() -> None:
    used = _used_instance_types()
    assert {"m5.xlarge", "m6i.2xlarge", "g5.xlarge"} <= used
    for region in prices.regions():
        missing = sorted(t for t in used if prices.lookup(region, t) is None)
        assert not missing, f"{region}: no price for {missing}"


def test_lookup_falls_back_and_says_so() -> None:
    assert prices.lookup("us-west-2", "m5.xlarge") == prices.Price(0.192, "us-west-2", True)
    assert prices.lookup("eu-west-1", "m5.xlarge") == prices.Price(0.192, "us-east-1", False)
    assert prices.lookup("us-east-1", "p5.48xlarge") is None  # unknown, never 0
    assert prices.lookup("eu-west-1", "x9z.large") is None
    assert prices.gp3_usd_per_gb_month("us-west-2") == (0.08, True)
    assert prices.gp3_usd_per_gb_month("ap-south-1") == (0.08, False)


def test_eks_fee_shares_the_calendar_constant() -> None:
    assert prices.eks_usd_per_hour(False) == pytest.approx(0.10)
    assert prices.eks_usd_per_hour(True) == pytest.approx(0.60)
    assert prices.eks_usd_per_hour(True) - prices.eks_usd_per_hour(False) == pytest.approx(
        eks_versions.EXTENDED_SUPPORT_EXTRA_USD_PER_HOUR)
    assert prices.HOURS_PER_MONTH * 12 == 8760
