"""External engines (cfn-lint, kubeconform, chart values schema) behind one small interface."""
