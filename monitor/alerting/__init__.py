"""Alerting: rules over the health state and the SLA figures, one engine that owns the
lifecycle (dedup, repeat, inhibition, silences, flapping, routing, grouping), a durable
outbox in the state store, and one module per receiver type.

The config reads the ``[alerts]`` section with :mod:`.settings` and each receiver's options
through the provider registry (:mod:`.providers`), which loads a provider's module by name
when a receiver uses it. Use :class:`monitor.alerting.service.Alerting` to wire everything
into the daemon.
"""
