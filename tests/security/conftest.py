"""The lint fixtures (chart cache from the reference copy, kubeconform, offline) for the security tests."""

from tests.lint.conftest import chart_cache, kubeconform_bin, lint_env, session_cache  # noqa: F401
