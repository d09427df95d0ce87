"""The status page: what customers see of their clusters (``/status``, ``/status.json``,
``slurm-sla status --output DIR``).

- ``settings``: the ``[status]`` table; ``customers``: which clusters a customer has.
- ``model``: the page's content, from the ledger (``monitor.ledger.query``) and, in the
  daemon, the live snapshot; ``render_html`` and ``render_json`` turn it into bytes.
- ``endpoint``: the daemon's answer to ``/status``; ``cli``: ``slurm-sla status``.
"""
