"""The dated tables hubgen ships (EC2 instance types, the EKS version calendar): internally consistent, agreeing
with the published numbers they were taken from, and not older than a year.

The age tests fail on purpose when a table is stale (issue 14): re-check the table against its source
(``TABLE_SOURCE``, ``CALENDAR_SOURCE``), update it and its date.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from generator.platform import eks_versions, instance_types, prices, upgrade_notes
from generator.platform.instance_types import ARM, X86

from tests.core.specs import example_data

MAX_AGE = timedelta(days=365)
GPU_FAMILIES = {"g4dn", "g5", "g6", "g6e", "p3", "p4d", "p5"}
GRAVITON_FAMILIES = {"m6g", "m7g", "c6g", "c7g", "r6g"}
#: GiB of memory per vCPU of the families on the standard ladder (every size but the burstable ones).
GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}


# ------------------------------------------------------------------------------------------ age (issue 14)
@pytest.mark.parametrize("name,dated,source", [
    ("instance-type table", instance_types.TABLE_DATE, instance_types.TABLE_SOURCE),
    ("EKS version calendar", eks_versions.CALENDAR_DATE, eks_versions.CALENDAR_SOURCE),
    ("price table", prices.TABLE_DATE, prices.TABLE_SOURCE),
    ("upgrade-notes table", upgrade_notes.TABLE_DATE, upgrade_notes.TABLE_SOURCE),
])
def test_table_is_at_most_a_year_old(name: str, dated: str, source: str) -> None:
    day = date.fromisoformat(dated)
    assert day <= date.today(), f"the {name} is dated in the future ({dated})"
    assert date.today() - day <= MAX_AGE, (
        f"the {name} is dated {dated}, more than a year ago: re-check it against {source}, update it and its date")
    assert source.strip()


def test_calendar_offers_a_version_in_standard_support_today() -> None:
    """Otherwise every environment fails HG226/HG227 and `hubgen new` has nothing to propose."""
    assert eks_versions.in_standard_support(eks_versions.today()), (
        "no version of the EKS calendar is in standard support today: add the versions EKS released since "
        f"{eks_versions.CALENDAR_DATE}")


# ------------------------------------------------------------------------------------------ instance types
def _all() -> list[instance_types.InstanceType]:
    return list(instance_types.TABLE.values())


def test_every_size_has_resources() -> None:
    for t in _all():
        assert t.vcpus > 0 and t.memory_mib > 0 and t.eni_max_pods > 0, t
        assert t.arch in (X86, ARM), t
        assert instance_types.lookup(t.name) is t
        assert t.size in instance_types.family_sizes(t.family)


def test_gpu_families_have_gpus_and_the_others_none() -> None:
    for t in _all():
        if t.family in GPU_FAMILIES:
            assert t.gpus >= 1, t
        else:
            assert t.gpus == 0, t
    assert GPU_FAMILIES <= set(instance_types.families())


def test_architectures() -> None:
    for t in _all():
        assert t.arch == (ARM if t.family in GRAVITON_FAMILIES else X86), t


def test_memory_per_vcpu_of_the_ladder_families() -> None:
    for t in _all():
        ratio = GIB_PER_VCPU.get(t.family[0])
        if ratio and t.family not in GPU_FAMILIES:
            assert t.memory_gib == t.vcpus * ratio, t


def test_family_sizes_are_ordered_and_complete() -> None:
    for family in instance_types.families():
        sizes = instance_types.family_sizes(family)
        assert sizes and len(sizes) == len(set(sizes))
        types = [instance_types.lookup(f"{family}.{s}") for s in sizes]
        assert all(types)
        assert [t.vcpus for t in types] == sorted(t.vcpus for t in types), family
    assert instance_types.family_sizes("x9z") is None
    assert instance_types.lookup("m5.3xlarge") is None
    assert instance_types.lookup("x9z.large") is None


@pytest.mark.parametrize("name,vcpus,gib,gpus,pods", [
    # Spot checks against the EC2 instance type pages and eni-max-pods.txt.
    ("t3.nano", 2, 0.5, 0, 4), ("t3a.small", 2, 2, 0, 8), ("m5.large", 2, 8, 0, 29), ("m5.xlarge", 4, 16, 0, 58),
    ("m6i.32xlarge", 128, 512, 0, 737), ("m7a.medium", 1, 4, 0, 8), ("c5.9xlarge", 36, 72, 0, 234),
    ("r6g.medium", 1, 8, 0, 8), ("g4dn.12xlarge", 48, 192, 4, 234), ("g5.48xlarge", 192, 768, 8, 345),
    ("g6e.xlarge", 4, 32, 1, 58), ("p3.2xlarge", 8, 61, 1, 58), ("p4d.24xlarge", 96, 1152, 8, 737),
    ("p5.48xlarge", 192, 2048, 8, 100),
])
def test_published_numbers(name: str, vcpus: int, gib: float, gpus: int, pods: int) -> None:
    t = instance_types.lookup(name)
    assert (t.vcpus, t.memory_gib, t.gpus, t.eni_max_pods) == (vcpus, gib, gpus, pods)


def test_examples_use_only_known_instance_types() -> None:
    for env in ("dev", "prod"):
        for group in example_data(env)["cluster"]["nodeGroups"]:
            for name in group["instanceTypes"]:
                assert instance_types.lookup(name), f"{env}: {name}"


# ------------------------------------------------------------------------------------------ allocatable
@pytest.mark.parametrize("vcpus,millicores", [(1, 60), (2, 70), (4, 80), (8, 90), (16, 110), (64, 230)])
def test_reserved_cpu_bands(vcpus: int, millicores: int) -> None:
    """6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% above (nodeadm)."""
    assert instance_types.reserved_cpu_millicores(vcpus) == millicores


def test_allocatable_memory_and_the_managed_max_pods_cap() -> None:
    m5 = instance_types.lookup("m5.large")  # 29 pods: 255 + 11 * 29 = 574 MiB reserved, 100 MiB eviction
    assert instance_types.allocatable(m5).memory_mib == 8192 - 574 - 100
    big = instance_types.lookup("m5.4xlarge")  # 16 vCPUs, 234 ENI pods: managed node groups cap at 110
    assert instance_types.max_pods(big) == 110
    assert instance_types.max_pods(big, managed=False) == 234
    huge = instance_types.lookup("m5.24xlarge")  # 96 vCPUs: cap 250
    assert instance_types.max_pods(huge) == 250
    assert instance_types.allocatable(huge).cpu_millicores == 96000 - instance_types.reserved_cpu_millicores(96)


@pytest.mark.parametrize("text,mib", [("2G", 2e9 / 2**20), ("8Gi", 8192), ("512Mi", 512), ("1.5Gi", 1536),
                                      ("1000000", 1e6 / 2**20), ("2k", 2000 / 2**20)])
def test_memory_quantities(text: str, mib: float) -> None:
    assert instance_types.quantity_mib(text) == pytest.approx(mib)


# ------------------------------------------------------------------------------------------ EKS calendar
def _months(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def test_calendar_dates_are_ordered() -> None:
    minors = [int(v.version.split(".")[1]) for v in eks_versions.CALENDAR]
    assert minors == list(range(minors[0], minors[0] + len(minors))), "consecutive minor versions, oldest first"
    for older, newer in zip(eks_versions.CALENDAR, eks_versions.CALENDAR[1:]):
        assert older.released < newer.released
        assert older.end_of_standard <= newer.end_of_standard
    for v in eks_versions.CALENDAR:
        assert v.released < v.end_of_standard < v.end_of_extended, v
        # EKS: 14 months of standard support after the EKS release, then 12 months of extended support.
        assert _months(v.released, v.end_of_standard) == 14, v
        assert v.end_of_extended == v.end_of_standard.replace(year=v.end_of_standard.year + 1), v


def test_support_status_at_the_boundaries() -> None:
    v = eks_versions.lookup("1.33")
    day = timedelta(days=1)
    assert eks_versions.support("1.33", v.released).status == eks_versions.STANDARD
    assert eks_versions.support("1.33", v.end_of_standard - day).status == eks_versions.STANDARD
    s = eks_versions.support("1.33", v.end_of_standard)
    assert (s.status, s.ends) == (eks_versions.EXTENDED, v.end_of_extended)
    assert eks_versions.support("1.33", v.end_of_extended - day).status == eks_versions.EXTENDED
    s = eks_versions.support("1.33", v.end_of_extended)
    assert (s.status, s.ends) == (eks_versions.ENDED, None)
    assert eks_versions.support("1.39", v.released).status == eks_versions.UNKNOWN
    assert eks_versions.support("1.27", v.released).status == eks_versions.UNKNOWN


def test_dates_the_issue_names() -> None:
    """Issue 11: 1.28-1.31 are past extended support as of 2026-12-01, 1.32 is in extended support."""
    day = date(2026, 12, 1)
    for version in ("1.28", "1.29", "1.30", "1.31"):
        assert eks_versions.support(version, day).status == eks_versions.ENDED
    assert eks_versions.support("1.32", day).status == eks_versions.EXTENDED
    assert eks_versions.support("1.35", day).status == eks_versions.STANDARD
    assert eks_versions.offered(day) == ("1.32", "1.33", "1.34", "1.35")


def test_examples_run_a_version_in_standard_support() -> None:
    for env in ("dev", "prod"):
        version = example_data(env)["cluster"]["kubernetesVersion"]
        assert eks_versions.support(version, eks_versions.today()).status == eks_versions.STANDARD, env


def test_extended_support_cost() -> None:
    assert eks_versions.extended_support_extra_usd_per_month() == pytest.approx(365)
