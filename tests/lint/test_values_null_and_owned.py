"""`hubgen lint -e values` with Helm's null semantics, and `values` that touch chart values the spec owns.

What the lint engine validates is what Helm computes (generator.render.values.merge_values, coalescing):
a user ``null`` deletes the chart default it names, and stays ``null`` where the chart has none. The raw
`values` may not touch owned chart values (HG218): such a spec is refused before any engine runs.
"""

from __future__ import annotations

from tests.lint.helpers import lint_json, position, problems, replace_once

PROD = "environments/prod/environment.yaml"
PROD_VALUES = "      scheduling:\n        userScheduler:\n          enabled: true\n"


def test_null_deletes_a_required_chart_default(repo, invoke_hubgen, lint_env):
    text = replace_once(repo / PROD, PROD_VALUES, PROD_VALUES + "          logLevel: null\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "values")
    assert rc == 1
    [p] = problems(doc, "HG503")
    assert p["path"] == "/hubs/1/values/scheduling/userScheduler/logLevel"
    assert (p["line"], p["column"]) == position(text, "logLevel: null")
    assert "sets it to null" in p["message"]


def test_null_without_a_chart_default_stays_and_is_checked(repo, invoke_hubgen, lint_env):
    """Helm keeps a null that deletes nothing, and validates it: an unknown key is still unknown."""
    text = replace_once(repo / PROD, PROD_VALUES, PROD_VALUES + "        schedulerName: null\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "values")
    assert rc == 1
    [p] = problems(doc, "HG503")
    assert "unknown key 'schedulerName'" in p["message"]
    assert (p["line"], p["column"]) == position(text, "schedulerName")


def test_null_over_a_null_chart_default_passes(repo, invoke_hubgen, lint_env):
    replace_once(repo / PROD, "        defaultUrl: /lab\n", "        defaultUrl: null\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "values")
    assert rc == 0, problems(doc)


def test_values_touching_owned_chart_values_are_refused_before_linting(repo, invoke_hubgen, lint_env):
    text = replace_once(repo / PROD, PROD_VALUES, PROD_VALUES + "      cull:\n        enabled: null\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "values")
    assert rc == 1
    assert doc["skipped"] == ["prod"]
    [p] = problems(doc, "HG218")
    assert p["path"] == "/hubs/1/values/cull/enabled"
    assert (p["line"], p["column"]) == position(text, "enabled: null")
    assert "Set `hubs[1].culling.enabled` instead of `values.cull.enabled`." == p["hint"]
