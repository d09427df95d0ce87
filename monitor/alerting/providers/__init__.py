"""The registry of receiver types: the only place a provider is registered. Adding one is
a module in this package and one entry here.

An entry names the provider's module, which is loaded the first time its type is used:
reading a config loads the providers its receivers name, not every sender.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from monitor.alerting.providers.base import ProviderSpec, ReceiverOptions, read_options
from monitor.config_schema import KeyPath, Reader

# type -> module in this package (the order is the one error messages list the types in)
_MODULES: Mapping[str, str] = {
    "webhook": "webhook",
    "slack": "slack",
    "pagerduty": "pagerduty",
    "alertmanager": "alertmanager",
    "email": "email",
}

RECEIVER_TYPES = tuple(_MODULES)


class _Providers(Mapping[str, ProviderSpec]):
    """Every registered provider by type, each module imported on first lookup."""

    def __getitem__(self, kind: str) -> ProviderSpec:
        module = _MODULES[kind]  # KeyError for an unknown type, as a dict would
        spec: ProviderSpec = importlib.import_module(
            f"monitor.alerting.providers.{module}"
        ).PROVIDER
        return spec

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


PROVIDERS: Mapping[str, ProviderSpec] = _Providers()


def read_receiver_options(
    r: Reader, kind: str, options: Mapping[str, Any], p: KeyPath
) -> ReceiverOptions | None:
    """Validate a ``[[receivers]]`` table's options for its type (errors go to ``r``)."""
    spec = PROVIDERS.get(kind)
    if spec is None:
        return None  # the type itself is reported by the config reader
    return read_options(r, spec.options, options, p)
