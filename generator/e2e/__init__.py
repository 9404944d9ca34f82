"""Talking to a running cluster: a small Kubernetes API client (:mod:`generator.e2e.kubeapi`) and the readiness
assertions (:mod:`generator.e2e.readiness`) that `hubgen verify` and the end-to-end tests share."""
