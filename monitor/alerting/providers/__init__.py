"""The registry of receiver types: the only place a provider is registered. Adding one is
a module in this package and one entry here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.alerting.providers import alertmanager, email, pagerduty, slack, webhook
from monitor.alerting.providers.base import ProviderSpec, ReceiverOptions, read_options
from monitor.config_schema import KeyPath, Reader

PROVIDERS: Mapping[str, ProviderSpec] = {
    spec.type: spec
    for spec in (
        webhook.PROVIDER,
        slack.PROVIDER,
        pagerduty.PROVIDER,
        alertmanager.PROVIDER,
        email.PROVIDER,
    )
}

RECEIVER_TYPES = tuple(PROVIDERS)


def read_receiver_options(
    r: Reader, kind: str, options: Mapping[str, Any], p: KeyPath
) -> ReceiverOptions | None:
    """Validate a ``[[receivers]]`` table's options for its type (errors go to ``r``)."""
    spec = PROVIDERS.get(kind)
    if spec is None:
        return None  # the type itself is reported by the config reader
    return read_options(r, spec.options, options, p)
