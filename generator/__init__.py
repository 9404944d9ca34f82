"""hubgen: GitOps repository generator and validator for JupyterHub on AWS EKS."""

__version__ = "0.1.0"
