"""Checks on the team's own manifests in ``environments/<env>/extra/`` (see :mod:`generator.extra`).

Run by `hubgen validate` (which looks at the files beside the spec), not by `render`, which reads
only the spec. Flux applies everything in that folder, so it must hold no links and no plain-text
secrets; kubeconform checks the manifests themselves in `hubgen lint`.
"""

from __future__ import annotations

import yaml

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register
from generator.problems import Location

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@register
class ExtraFilesUsable(EnvironmentCheck):
    code = codes.HG409

    def check(self, env: EnvContext):
        for f in env.extra_files:
            if f.unusable:
                yield self.code.problem(f"{f.path} {f.unusable}", Location(f.path, 1, 1), environment=env.folder)


@register
class ExtraPlaintextSecrets(EnvironmentCheck):
    code = codes.HG308

    def check(self, env: EnvContext):
        from generator.secrets.scan import scan_text

        for f in env.extra_files:
            text = f.text
            if f.unusable or text is None or f.sops_encrypted:
                continue
            try:
                docs = list(yaml.compose_all(text, Loader=_LOADER))
                found = scan_text(text)
            except yaml.YAMLError:
                continue  # not YAML: kubeconform (hubgen lint) says where
            for doc in docs:
                if isinstance(doc, yaml.MappingNode) and any(
                        k.value == "kind" and getattr(v, "value", None) == "Secret" for k, v in doc.value):
                    line, col = doc.start_mark.line + 1, doc.start_mark.column + 1
                    yield self.code.problem(f"{f.path}: a Kubernetes Secret in plain text (line {line})",
                                            Location(f.path, line, col), environment=env.folder)
            for path, reason, line, col in found:
                yield self.code.problem(f"{f.path}: {'/'.join(map(str, path))}: {reason}",
                                        Location(f.path, line, col), environment=env.folder)
