"""What renderers produce and engines consume."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(str, enum.Enum):
    CFN_TEMPLATE_CONFIGURATION = "cfn-template-configuration"  # CodePipeline {"Parameters", "Tags"}
    CFN_PARAMETERS = "cfn-parameters"  # AWS CLI [{"ParameterKey", "ParameterValue"}]
    CFN_DEPLOYMENT = "cfn-deployment"  # CloudFormation Git sync deployment file
    K8S_MANIFEST = "k8s-manifest"  # one or more Kubernetes objects (YAML)
    KUSTOMIZE = "kustomize"  # kustomization.yaml (kustomize's own config, not a cluster object)


@dataclass(frozen=True)
class RenderedFile:
    """One generated file: repository-relative POSIX path and exact bytes."""

    path: str
    content: bytes
    kind: Kind
    environment: str
