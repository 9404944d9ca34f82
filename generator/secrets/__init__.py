"""Secrets: sops-encrypted Kubernetes Secrets under ``environments/<env>/secrets/``.

* :mod:`generator.secrets.tools` finds the pinned sops / age binaries.
* :mod:`generator.secrets.files` reads secret files *without decrypting them*
  (names, namespaces, keys and sops metadata stay readable because values are
  the only thing sops encrypts, ``encrypted_regex: ^(data|stringData)$``).
* :mod:`generator.secrets.inventory` computes which Secrets each environment
  needs (from the spec) and checks them against the files (HG304-HG307).
* :mod:`generator.secrets.sops` creates encrypted files (``hubgen secrets create``).
* :mod:`generator.secrets.scan` locates plaintext secrets in YAML/JSON text (HG303).
"""
