"""Bad-input cases of the costs checks (see tests/core/badinput.py): allocation tags that `tags` does not have
(HG246), more tags than the template's allocation tag slots without a choice (HG247), a budget that notifies no
one (HG248). Concatenated into test_bad_inputs.CASES."""

from __future__ import annotations

from .badinput import Case, Expect, at, dev, insert_after

DEV_TAGS = "  environment: dev\n"
NINE_TAGS = "".join(f"  tag-{i}: value-{i}\n" for i in range(1, 8))


def costs(block: str):
    """Append a `costs:` block (its lines indented by two spaces) after dev's tags."""
    return insert_after(DEV_TAGS, "costs:\n" + block)


CASES: list[Case] = [
    Case("allocation-tag-not-in-tags", dev(costs("  allocationTags: [project, team]\n")),
         (Expect("HG246", at("team", within="  allocationTags: [project, team]\n"),
                 contains=("costs.allocationTags names 'team', which `tags` does not have (its keys: project, "
                           "environment)", "Add `team: <value>` under `tags`")),)),
    Case("allocation-tag-hubgen-environment", dev(costs("  allocationTags: [hubgen:environment]\n")),
         (Expect("HG246", at("hubgen:environment"),
                 contains=("hubgen:environment is always an allocation tag",
                           "Remove 'hubgen:environment' from `costs.allocationTags`")),)),
    Case("more-tags-than-allocation-slots", dev(insert_after(DEV_TAGS, NINE_TAGS)),
         (Expect("HG247", at("tags:\n"),
                 contains=("`tags` has 9 keys (project, environment, tag-1", "has 8 slots for them",
                           "`costs: {allocationTags: [...]}`")),)),
    Case("budget-without-subscribers", dev(costs("  budget:\n    monthlyLimit: 100\n")),
         (Expect("HG248", at("budget:"),
                 contains=("`costs.budget` has neither `emails` nor `snsTopicArn`",
                           "Add `emails` (up to three addresses) or `snsTopicArn`")),)),
]
