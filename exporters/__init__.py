"""How the monitor's state leaves the process: Prometheus collectors and the HTTP endpoint.

Everything here reads :class:`monitor.snapshot.Snapshot`; nothing in ``monitor`` imports it.
"""
