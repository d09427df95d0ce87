"""The monthly SLA report: per cluster and service, the month's availability against its
objective, the error budget, every incident, failover, maintenance window and the monitor's
own blind or absent time, from the SLA ledger.

- ``assemble.build_report(store, config, year, month, ...)``: the data (a frozen
  :class:`model.Report`), read from the ledger; everything after it is pure.
- ``render.render(report, fmt)``: one renderer module per format (``md``, ``html``,
  ``json``, ``csv``, ``pdf``); the same report renders to the same bytes.
- ``files.write_reports(config_path, directory, ...)``: every format into a directory.
- ``cli``: ``slurm-sla report``; ``settings``: the ``[report]`` table.

This package's ``__init__`` imports nothing: ``monitor.config`` reads ``[report]`` through
``settings``, and the rest of the package imports ``monitor.config``.
"""
