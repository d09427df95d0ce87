"""Alerting: rules over the health state and the SLA figures, one engine that owns the
lifecycle (dedup, repeat, inhibition, silences, flapping, routing, grouping), a durable
outbox in the state store, and one module per receiver type.

Kept import-light on purpose: :mod:`monitor.config` imports :mod:`.settings` and the
provider registry, so nothing here may import the config module at package import time.
Use :class:`monitor.alerting.service.Alerting` to wire everything into the daemon.
"""
