"""`hubgen bump`: newer versions of what each environment pins, as text edits of its spec, checked before a pull
request is opened.

The pipeline, one module per stage (:mod:`generator.bump.run` strings them together):

1. :mod:`generator.bump.sources` -- what an environment pins (:class:`~generator.bump.sources.Pin`: the JupyterHub
   chart of each hub, the platform charts hubgen renders, ``cluster.kubernetesVersion``, image tags) and what newer
   version exists for each: Helm repository indexes (fetched like the chart engines fetch, mirrors included), the
   shipped EKS calendar, the user's image tag lists;
2. :mod:`generator.bump.rewrite` -- the spec's text edited at those places (comments, quoting, key order, line
   ends and BOM kept; a missing platform chart pin inserted), refused unless it reloads to exactly the intended data;
3. :mod:`generator.bump.run` -- written atomically (:mod:`generator.safefs`), rendered like `hubgen render`, checked
   (validation and the new charts' values schemas);
4. :mod:`generator.bump.summary` -- what changed, the upgrade notes crossed and the checks' result, as text,
   markdown (a pull request's body) or JSON.
"""

#: The kinds of pin `--only` selects.
KINDS = ("charts", "kubernetes", "images")
