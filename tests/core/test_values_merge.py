"""hubgen's one merge of Helm values (generator.render.values.merge_values), against Helm and Flux.

Two modes, one function: rendering (generated values + the raw `values` into a HelmRelease's
``spec.values``; a ``null`` survives, as in Flux's ``MergeMaps`` and Helm's ``MergeValues``) and linting
(release values coalesced over the chart's defaults, Helm's ``CoalesceValues``: a ``null`` deletes).

The property tests compare with reference models transliterated line by line from the Go sources:
helm ``pkg/chart/common/util/coalesce.go`` (v4.2: ``coalesceValues``, ``coalesceTablesFullKey``,
``cleanNilValues``; a chart without dependencies) and fluxcd/pkg ``chartutil/merge.go`` (``MergeMaps``).
"""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.engines.chart_values import helm_merge
from generator.model import Auth, Hub, SecretRef, SingleUser
from generator.render.values import effective_values, merge_values, release_values


# --- reference models (straight from the Go code) -------------------------------------------------

def _clean_nil(m: dict) -> None:
    for k in list(m):
        if m[k] is None:
            del m[k]
        elif isinstance(m[k], dict):
            _clean_nil(m[k])


def _coalesce_tables(dst: dict, src: dict) -> dict:
    src_non_nil = {k for k, v in src.items() if v is not None}
    for k, v in dst.items():
        if v is None:
            src[k] = None
    for k, val in src.items():
        ok = k in dst
        dv = dst.get(k)
        if ok and dv is None and k in src_non_nil:
            del dst[k]
        elif not ok:
            dst[k] = val
        elif isinstance(val, dict) and isinstance(dv, dict):
            _coalesce_tables(dv, val)
        # otherwise dst (the user's value) wins; Helm only prints a warning
    return dst


def helm_coalesce_values(defaults: dict, values: dict) -> dict:
    """Helm's CoalesceValues(chart, values) for a chart without dependencies."""
    v, vc = copy.deepcopy(values), copy.deepcopy(defaults)
    for k, val in vc.items():
        if k in v:
            value = v[k]
            if value is None:
                del v[k]
            elif isinstance(value, dict) and isinstance(val, dict):
                _clean_nil(val)
                _coalesce_tables(value, val)
        elif val is not None:
            if isinstance(val, dict):
                _clean_nil(val)
            v[k] = val
    return v


def flux_merge_maps(a: dict, b: dict) -> dict:
    """Flux helm-controller's MergeMaps(a, b)."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = flux_merge_maps(out[k], v)
            continue
        out[k] = v
    return out


# --- examples --------------------------------------------------------------------------------------

DEFAULTS = {
    "name": None,                                    # a top-level null default
    "proxy": {"service": {"type": "LoadBalancer", "nodePorts": {"http": None}, "annotations": {}},
              "secretToken": None},
    "singleuser": {"cmd": "jupyterhub-singleuser", "defaultUrl": None, "cpu": {"limit": None}},
    "scheduling": {"userScheduler": {"enabled": True, "replicas": 2}},
    "list": [1, {"x": None}],
}


def test_null_at_a_leaf():
    values = {"singleuser": {"cmd": None}, "proxy": {"service": {"type": None}}}
    # rendering keeps the nulls for Helm...
    assert merge_values({"singleuser": {"cmd": "x"}}, values) == {"singleuser": {"cmd": None}, **values}
    # ...which deletes the chart's defaults they name
    got = merge_values(DEFAULTS, values, coalesce=True)
    assert "cmd" not in got["singleuser"] and "type" not in got["proxy"]["service"]


def test_null_over_a_null_or_missing_default_stays_below_the_top_and_goes_at_the_top():
    values = {"name": None, "new": None, "singleuser": {"defaultUrl": None, "other": None}}
    got = merge_values(DEFAULTS, values, coalesce=True)
    assert "name" not in got                                   # Helm deletes a top-level key the chart has
    assert got["new"] is None                                  # ...and keeps one it has not
    assert got["singleuser"]["defaultUrl"] is None             # below the top, the null default was dropped
    assert got["singleuser"]["other"] is None
    assert got == helm_coalesce_values(DEFAULTS, values)


def test_null_replaces_a_map():
    values = {"scheduling": {"userScheduler": None}}
    assert merge_values({"scheduling": {"userScheduler": {"enabled": True}}}, values) == values
    got = merge_values(DEFAULTS, values, coalesce=True)
    assert got["scheduling"] == {}
    assert merge_values(DEFAULTS, {"proxy": None}, coalesce=True).get("proxy", "gone") == "gone"


def test_map_replaces_a_scalar_and_scalar_replaces_a_map():
    base = {"a": 1, "b": {"c": 1}}
    values = {"a": {"x": None}, "b": [1, 2]}
    assert merge_values(base, values) == {"a": {"x": None}, "b": [1, 2]}
    # coalescing too: the user's map is taken as written (nulls and all), the user's scalar wins over a map
    assert merge_values(base, values, coalesce=True) == {"a": {"x": None}, "b": [1, 2]}
    assert merge_values(base, values, coalesce=True) == helm_coalesce_values(base, values)


def test_defaults_lose_their_nulls_when_coalescing_only():
    got = merge_values(DEFAULTS, {}, coalesce=True)
    assert "name" not in got and "secretToken" not in got["proxy"] and got["singleuser"]["cpu"] == {}
    assert got["list"] == [1, {"x": None}]                     # Helm does not look into lists
    assert merge_values(DEFAULTS, {}) == DEFAULTS


def test_maps_merge_and_lists_replace():
    got = merge_values(DEFAULTS, {"proxy": {"service": {"type": "NodePort"}}, "list": [2]}, coalesce=True)
    assert got["proxy"]["service"] == {"type": "NodePort", "nodePorts": {}, "annotations": {}}
    assert got["list"] == [2]


def test_inputs_untouched_and_output_independent():
    base, values = copy.deepcopy(DEFAULTS), {"proxy": {"service": {"annotations": {"a": "b"}}}, "extra": {"y": [1]}}
    before = copy.deepcopy((base, values))
    for coalesce in (False, True):
        out = merge_values(base, values, coalesce=coalesce)
        out["proxy"]["service"]["annotations"]["z"] = "1"
        out["extra"]["y"].append(2)
        out["scheduling"]["userScheduler"]["enabled"] = False
        assert (base, values) == before


def test_key_order_is_the_base_order_then_new_keys():
    assert list(merge_values({"b": 1, "a": 2}, {"c": 3, "a": 4})) == ["b", "a", "c"]


def test_lint_engine_merges_with_the_same_function():
    values = {"proxy": None, "singleuser": {"defaultUrl": "/lab"}}
    assert helm_merge(DEFAULTS, values) == merge_values(DEFAULTS, values, coalesce=True)


def _hub(values: dict) -> Hub:
    return Hub(name="h", namespace="h", host=None, node_port=30052, chart_version="4.4.0",
               auth=Auth(type="dummy", admins=("a",), allowed_users=("a",), password_secret=SecretRef("s", "k")),
               singleuser=SingleUser(image_name="img", image_tag="v1", storage_capacity="10Gi"),
               prepuller_hook=True, prepuller_continuous=True, culling_enabled=True, cull_timeout=3600,
               cull_every=600, values=values)


def test_a_null_in_values_reaches_the_helmrelease_and_deletes_the_chart_default():
    hub = _hub({"scheduling": {"userScheduler": None}, "singleuser": {"defaultUrl": None}})
    rendered = release_values(hub)
    assert rendered["scheduling"] == {"userScheduler": None}
    assert rendered["singleuser"]["defaultUrl"] is None and rendered["singleuser"]["image"]["tag"] == "v1"
    computed = helm_merge(DEFAULTS, effective_values(hub))
    assert computed["scheduling"] == {}
    assert computed["singleuser"]["defaultUrl"] is None        # no default to delete: Helm keeps the null
    assert computed["hub"]["config"]["DummyAuthenticator"]["password"] == "<from-secret>"


def test_effective_values_do_not_write_into_the_hubs_values():
    hub = _hub({"hub": {"config": {"DummyAuthenticator": {"admin_users": []}}}})
    effective_values(hub)
    assert hub.values == {"hub": {"config": {"DummyAuthenticator": {"admin_users": []}}}}


# --- properties ----------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "d"])
LEAVES = st.none() | st.integers(-2, 2) | st.sampled_from(["", "x"]) | st.lists(st.integers(0, 2), max_size=2)
TREES = st.recursive(LEAVES, lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)
MAPS = st.dictionaries(KEYS, TREES, max_size=4)


@settings(max_examples=400, deadline=None)
@given(MAPS, MAPS)
def test_coalescing_is_helms_coalesce_values(defaults, values):
    before = copy.deepcopy((defaults, values))
    assert merge_values(defaults, values, coalesce=True) == helm_coalesce_values(defaults, values)
    assert (defaults, values) == before


@settings(max_examples=400, deadline=None)
@given(MAPS, MAPS)
def test_rendering_is_fluxs_merge_maps(base, override):
    before = copy.deepcopy((base, override))
    assert merge_values(base, override) == flux_merge_maps(base, override)
    assert (base, override) == before


@settings(max_examples=200, deadline=None)
@given(MAPS, MAPS, MAPS)
def test_flux_then_helm_equals_rendering_then_linting(defaults, generated, user):
    """What Helm computes from hubgen's HelmRelease: the rendered merge, then coalescing, in one go each."""
    rendered = merge_values(generated, user)
    assert merge_values(defaults, rendered, coalesce=True) == helm_coalesce_values(defaults,
                                                                                  flux_merge_maps(generated, user))
