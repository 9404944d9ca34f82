"""`hubgen deploy`: create or update an environment's cluster stack through a CloudFormation change set.

The package is split so that every decision is plain Python and testable without AWS:

* :mod:`generator.deploy.inputs` reads what CI deploys: the committed parameter file, the tags of the
  template configuration and the stack template (checked against each other);
* :mod:`generator.deploy.plan` decides: create or update, which stack states are deployable, whether a
  change set means "no changes", which events are new and which resources failed;
* :mod:`generator.deploy.client` is the only module that talks to AWS (boto3);
* :mod:`generator.deploy.runner` runs the steps in order (``deploy(repo, DeployOptions(...), console)``).

Nothing here is imported by the other commands: boto3 is loaded only when a deploy runs.
"""
