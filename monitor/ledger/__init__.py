"""The SLA ledger: durable health transitions, heartbeats and maintenance windows in the
state store, and the pure SLA arithmetic over them (availability, error budget, burn
rates, incidents).

- ``ledger.Ledger``: the daemon's round sink and source of the snapshot's SLA figures.
- ``sla``: pure functions over [start, end) (no I/O, no clock).
- ``query.service_period``: the SLA of one service over an interval (for reports).
- ``maintenance``: windows, recurring occurrences; ``cli``: ``slurm-sla maintenance``.

Nothing is imported here: the state store reads ``schema`` without loading the ledger.
"""
