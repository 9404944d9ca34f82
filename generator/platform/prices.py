"""A small, dated table of AWS list prices: on-demand Linux EC2 instance hours, gp3 storage and the EKS cluster
fee, for the instance types of :mod:`generator.platform.instance_types` that hubs run on.

Why a table and not the AWS Price List API: `hubgen plan` runs offline in CI (no credentials, no network), and
an estimate that needs neither is one every pull request can show. It is an *estimate*: on-demand list prices
of :data:`TABLE_DATE`, before savings plans, reserved instances, spot discounts, taxes and credits. A test
fails when the table is more than a year old, so someone re-checks it against :data:`TABLE_SOURCE`.

AWS lists the families below at the same on-demand rates in us-east-1 and us-west-2; other regions differ
(often by 5-30%) and are not in the table, so :func:`lookup` answers with the us-east-1 price and says so
(``exact`` false). A family missing here has no price at all (shown as unknown, never as 0); p4d and p5 are
left out on purpose, AWS re-priced them in 2025 and their current list price is not confirmed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.platform import eks_versions

TABLE_DATE = "2026-12-01"
TABLE_SOURCE = (
    "Amazon EC2 On-Demand pricing (https://aws.amazon.com/ec2/pricing/on-demand/, Linux, shared tenancy), "
    "Amazon EBS pricing (https://aws.amazon.com/ebs/pricing/, gp3 storage) and Amazon EKS pricing "
    "(https://aws.amazon.com/eks/pricing/) for us-east-1 and us-west-2. Spot-checked against published figures "
    "(m7g.large 0.0816, g5.xlarge 1.006, c5 2xlarge-24xlarge 0.34-4.08 USD/hour in us-east-1); the other rows "
    "are best estimates from the same rate cards and may be off by AWS changes since"
)

#: Hours in an average month (8760 / 12), AWS's own convention for monthly estimates.
HOURS_PER_MONTH = 730
#: The region whose prices stand in for a region the table does not have.
FALLBACK_REGION = "us-east-1"
#: gp3 storage, USD per GB-month (the baseline 3000 IOPS / 125 MB/s are included).
GP3_USD_PER_GB_MONTH = {"us-east-1": 0.08, "us-west-2": 0.08}
#: The EKS cluster fee in standard support, USD per cluster hour.
EKS_STANDARD_USD_PER_HOUR = 0.10
#: The fee in extended support: standard plus the extended-support extra (one source: eks_versions).
EKS_EXTENDED_USD_PER_HOUR = round(EKS_STANDARD_USD_PER_HOUR + eks_versions.EXTENDED_SUPPORT_EXTRA_USD_PER_HOUR, 4)


def _family(family: str, **sizes: float) -> dict[str, float]:
    """``family``'s sizes (``xlarge_2`` spells 2xlarge, ``metal_24xl`` metal-24xl) as instance type -> USD."""
    out = {}
    for key, price in sizes.items():
        if key.startswith("xlarge_"):
            size = key.split("_", 1)[1] + "xlarge"
        else:
            size = key.replace("_", "-")
        out[f"{family}.{size}"] = price
    return out


#: On-demand Linux USD per hour, us-east-1 (and us-west-2: same rates for these families).
_US: dict[str, float] = {
    **_family("t3", nano=0.0052, micro=0.0104, small=0.0208, medium=0.0416, large=0.0832, xlarge=0.1664,
              xlarge_2=0.3328),
    **_family("t3a", nano=0.0047, micro=0.0094, small=0.0188, medium=0.0376, large=0.0752, xlarge=0.1504,
              xlarge_2=0.3008),
    **_family("m5", large=0.096, xlarge=0.192, xlarge_2=0.384, xlarge_4=0.768, xlarge_8=1.536, xlarge_12=2.304,
              xlarge_16=3.072, xlarge_24=4.608, metal=4.608),
    **_family("m5a", large=0.086, xlarge=0.172, xlarge_2=0.344, xlarge_4=0.688, xlarge_8=1.376, xlarge_12=2.064,
              xlarge_16=2.752, xlarge_24=4.128),
    **_family("m6i", large=0.096, xlarge=0.192, xlarge_2=0.384, xlarge_4=0.768, xlarge_8=1.536, xlarge_12=2.304,
              xlarge_16=3.072, xlarge_24=4.608, xlarge_32=6.144, metal=6.144),
    **_family("m6a", large=0.0864, xlarge=0.1728, xlarge_2=0.3456, xlarge_4=0.6912, xlarge_8=1.3824,
              xlarge_12=2.0736, xlarge_16=2.7648, xlarge_24=4.1472, xlarge_32=5.5296, xlarge_48=8.2944,
              metal=8.2944),
    **_family("m7i", large=0.1008, xlarge=0.2016, xlarge_2=0.4032, xlarge_4=0.8064, xlarge_8=1.6128,
              xlarge_12=2.4192, xlarge_16=3.2256, xlarge_24=4.8384, metal_24xl=4.8384, xlarge_48=9.6768,
              metal_48xl=9.6768),
    **_family("m7a", medium=0.05796, large=0.11592, xlarge=0.23184, xlarge_2=0.46368, xlarge_4=0.92736,
              xlarge_8=1.85472, xlarge_12=2.78208, xlarge_16=3.70944, xlarge_24=5.56416, xlarge_32=7.41888,
              xlarge_48=11.12832, metal_48xl=11.12832),
    **_family("m6g", medium=0.0385, large=0.077, xlarge=0.154, xlarge_2=0.308, xlarge_4=0.616, xlarge_8=1.232,
              xlarge_12=1.848, xlarge_16=2.464, metal=2.464),
    **_family("m7g", medium=0.0408, large=0.0816, xlarge=0.1632, xlarge_2=0.3264, xlarge_4=0.6528,
              xlarge_8=1.3056, xlarge_12=1.9584, xlarge_16=2.6112, metal=2.6112),
    **_family("c5", large=0.085, xlarge=0.17, xlarge_2=0.34, xlarge_4=0.68, xlarge_9=1.53, xlarge_12=2.04,
              xlarge_18=3.06, xlarge_24=4.08, metal=4.08),
    **_family("c6i", large=0.085, xlarge=0.17, xlarge_2=0.34, xlarge_4=0.68, xlarge_8=1.36, xlarge_12=2.04,
              xlarge_16=2.72, xlarge_24=4.08, xlarge_32=5.44, metal=5.44),
    **_family("c7i", large=0.08925, xlarge=0.1785, xlarge_2=0.357, xlarge_4=0.714, xlarge_8=1.428,
              xlarge_12=2.142, xlarge_16=2.856, xlarge_24=4.284, metal_24xl=4.284, xlarge_48=8.568,
              metal_48xl=8.568),
    **_family("c6g", medium=0.034, large=0.068, xlarge=0.136, xlarge_2=0.272, xlarge_4=0.544, xlarge_8=1.088,
              xlarge_12=1.632, xlarge_16=2.176, metal=2.176),
    **_family("c7g", medium=0.03625, large=0.0725, xlarge=0.145, xlarge_2=0.29, xlarge_4=0.58, xlarge_8=1.16,
              xlarge_12=1.74, xlarge_16=2.32, metal=2.32),
    **_family("r5", large=0.126, xlarge=0.252, xlarge_2=0.504, xlarge_4=1.008, xlarge_8=2.016, xlarge_12=3.024,
              xlarge_16=4.032, xlarge_24=6.048, metal=6.048),
    **_family("r6i", large=0.126, xlarge=0.252, xlarge_2=0.504, xlarge_4=1.008, xlarge_8=2.016, xlarge_12=3.024,
              xlarge_16=4.032, xlarge_24=6.048, xlarge_32=8.064, metal=8.064),
    **_family("r7i", large=0.1323, xlarge=0.2646, xlarge_2=0.5292, xlarge_4=1.0584, xlarge_8=2.1168,
              xlarge_12=3.1752, xlarge_16=4.2336, xlarge_24=6.3504, metal_24xl=6.3504, xlarge_48=12.7008,
              metal_48xl=12.7008),
    **_family("r6g", medium=0.0504, large=0.1008, xlarge=0.2016, xlarge_2=0.4032, xlarge_4=0.8064,
              xlarge_8=1.6128, xlarge_12=2.4192, xlarge_16=3.2256, metal=3.2256),
    # GPU families: the price follows the GPUs and the host, not the vCPUs alone.
    **_family("g4dn", xlarge=0.526, xlarge_2=0.752, xlarge_4=1.204, xlarge_8=2.176, xlarge_12=3.912,
              xlarge_16=4.352, metal=7.824),
    **_family("g5", xlarge=1.006, xlarge_2=1.212, xlarge_4=1.624, xlarge_8=2.448, xlarge_12=5.672,
              xlarge_16=4.096, xlarge_24=8.144, xlarge_48=16.288),
    **_family("g6", xlarge=0.8048, xlarge_2=0.9776, xlarge_4=1.3232, xlarge_8=2.0144, xlarge_12=4.6016,
              xlarge_16=3.3968, xlarge_24=6.6752, xlarge_48=13.3504),
    **_family("g6e", xlarge=1.861, xlarge_2=2.24208, xlarge_4=3.00424, xlarge_8=4.52856, xlarge_12=10.49264,
              xlarge_16=7.57719, xlarge_24=15.06559, xlarge_48=30.13118),
    **_family("p3", xlarge_2=3.06, xlarge_8=12.24, xlarge_16=24.48),
}

#: region -> instance type -> on-demand Linux USD per hour.
INSTANCE_USD_PER_HOUR: dict[str, dict[str, float]] = {"us-east-1": _US, "us-west-2": _US}


@dataclass(frozen=True)
class Price:
    """An hourly price and where it comes from: ``region`` is the table's region it was read from; ``exact``
    is false when that is :data:`FALLBACK_REGION` standing in for a region the table does not have."""

    usd_per_hour: float
    region: str
    exact: bool


def regions() -> tuple[str, ...]:
    return tuple(INSTANCE_USD_PER_HOUR)


def lookup(region: str, instance_type: str) -> Price | None:
    """The on-demand price of ``instance_type`` in ``region`` (or, for a region the table lacks, in
    :data:`FALLBACK_REGION`, marked not exact); None when the table has no price for the type."""
    table = INSTANCE_USD_PER_HOUR.get(region)
    if table is not None:
        price = table.get(instance_type)
        return Price(price, region, True) if price is not None else None
    price = INSTANCE_USD_PER_HOUR[FALLBACK_REGION].get(instance_type)
    return Price(price, FALLBACK_REGION, False) if price is not None else None


def gp3_usd_per_gb_month(region: str) -> tuple[float, bool]:
    """gp3 storage price in ``region`` and whether it is that region's (else the fallback region's)."""
    if region in GP3_USD_PER_GB_MONTH:
        return GP3_USD_PER_GB_MONTH[region], True
    return GP3_USD_PER_GB_MONTH[FALLBACK_REGION], False


def eks_usd_per_hour(extended: bool) -> float:
    """The EKS cluster fee per hour, in standard or extended support (the same in every commercial region)."""
    return EKS_EXTENDED_USD_PER_HOUR if extended else EKS_STANDARD_USD_PER_HOUR
