"""`hubgen destroy ENV --plan`: how to tear an environment down, in order, and what survives.

hubgen never deletes anything. Deleting a cluster destroys users' home directories and cannot be undone; the
order matters (Flux first, the hubs and their volumes while the cluster still runs the EBS CSI driver, the stack
last); and several resources outlive any stack deletion. A command that did it would have to be right about all
of that for every account, every cluster and every hand-made addition to them. So hubgen computes the plan from
what it knows exactly -- the spec's model, the committed manifests, the template -- and prints the commands
for a person to review and run:

* :mod:`generator.teardown.manifests` and :mod:`generator.teardown.template` read the facts (pure, from bytes);
* :mod:`generator.teardown.compute` turns them into steps and survivors (pure, unit-tested on model variants);
* :mod:`generator.teardown.load` reads a repository's files into them; :mod:`generator.teardown.formats` prints.
"""

from __future__ import annotations

from generator.teardown.compute import Inputs, teardown
from generator.teardown.manifests import NotRendered
from generator.teardown.model import Action, Step, Survivor, Teardown

__all__ = ["Action", "Inputs", "NotRendered", "Step", "Survivor", "Teardown", "teardown"]
