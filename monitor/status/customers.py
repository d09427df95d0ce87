"""Which clusters belong to a customer (``[[clusters]] customer = "NAME"``): the status
page's ``?customer=NAME`` and the report's ``--customer NAME`` both ask here."""

from __future__ import annotations

from monitor.config import Config
from monitor.errors import MonitorError


class UnknownCustomer(MonitorError):
    """No cluster of the configuration names this customer."""


def customers(config: Config) -> tuple[str, ...]:
    """Every customer the configuration names, in the order their clusters come."""
    return tuple(dict.fromkeys(c.customer for c in config.clusters if c.customer))


def clusters_of(config: Config, customer: str | None) -> tuple[str, ...]:
    """The names of ``customer``'s clusters in config order; every cluster for None.
    Raises UnknownCustomer (one readable line) when no cluster names that customer."""
    if customer is None:
        return tuple(c.name for c in config.clusters)
    names = tuple(c.name for c in config.clusters if c.customer == customer)
    if not names:
        # The other customers' names are not said: the page may be served without auth.
        raise UnknownCustomer(f"no cluster has customer {customer!r}")
    return names
