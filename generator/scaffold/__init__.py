"""Scaffolding: new environments (`hubgen new`) and whole GitOps repositories (`hubgen init`).

Both are cookiecutter templates shipped in this package (``templates/environment`` and
``templates/repository``). hubgen asks for and checks the answers itself (field by field
against the schema, then the whole spec with the real validation, cross-environment checks
included), and only then runs cookiecutter with ``no_input=True`` and writes the result into
the repository in one move. A refused input writes nothing.

* :mod:`generator.scaffold.fields` - the spec fields, ``--set`` keys and their parsing;
* :mod:`generator.scaffold.environment` - the `hubgen new` flow;
* :mod:`generator.scaffold.repository` - the `hubgen init` flow;
* :mod:`generator.scaffold.managed` - the files hubgen manages in a generated repository
  (one list, :data:`~generator.scaffold.managed.MANAGED`) and `hubgen init --update/--check`;
* :mod:`generator.scaffold.cookie` - running the templates without side effects.
"""
