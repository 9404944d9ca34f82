"""The lint fixtures (chart cache from the reference copy, kubeconform, offline) for the security tests."""

from tests.lint.conftest import chart_cache, lint_env, session_cache  # noqa: F401
