"""``slurm-sla alertmanager-config``: the Alertmanager configuration equivalent to the
monitor's own alert policy, so an HA pair's notices go through an Alertmanager cluster with
the user's one source of truth (the monitor's TOML) behind them.

What maps to what:
- ``[alerts]`` ``group_by``, ``group_wait_seconds``, ``group_interval_seconds``,
  ``repeat_interval_seconds`` -> the root route. The engine's group interval 0 ("notify each
  change at once") becomes Alertmanager's own default, 5m: Alertmanager refuses 0, and in a
  cluster a short one pages twice. Each flush of a later peer works on the alerts as they
  were when it started, after waiting ``--cluster.peer-timeout`` (15 s) per position for
  the earlier peer's notice; a resolve that lands in that wait meets a stale "firing" and
  the later peer sends it again. The window is open peer-timeout out of every group
  interval: always, at 1 s; one time in twenty, at 5m;
- the receivers (``[[ha.receivers]]`` in HA mode, else ``[[receivers]]``) -> one Alertmanager
  receiver each; webhook -> webhook_configs, slack -> slack_configs, pagerduty ->
  pagerduty_configs, email -> email_configs; secrets as written (``KEY_file`` stays a file);
- ``[[alerts.routes]]`` -> one child route per (route, receiver), ``continue: true``, so an
  alert reaches every receiver a route names, as in the engine; without routes every
  receiver gets everything;
- ``group_wait_seconds`` below 1 s (the engine's default 0, "at once") becomes 1s: the
  engine applies an inhibition to the alerts of one round together, Alertmanager when a
  group flushes, so at 0s a target alert (SlurmctldBackupDown) posted a few ms before its
  source (SlurmctldDown, the same round) was paged beside it;
- the engine's inhibitions (policy.INHIBITIONS) -> ``inhibit_rules``, except, in HA mode,
  those whose source is one replica's own condition (SlurmMonitorBlind): the alerts carry
  no replica label, so replica a's blindness would mute replica b's SlurmctldDown for the
  same cluster, a real outage paging nobody. Nothing is lost by leaving them out: a
  replica never sends a service's alerts while it is blind to that service.

Not expressible, refused with the key named: ``KEY_env`` secrets (Alertmanager reads no
environment), a webhook ``url_file`` or ``hmac_secret`` (Alertmanager 0.25 has neither).
Maintenance silences stay in the replicas (both read the same windows).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.alerting.policy import INHIBITIONS, Inhibition
from monitor.alerting.providers.base import ReceiverOptions, Secret
from monitor.cli_args import add_config_argument
from monitor.config import Config, ReceiverConfig, load_config
from monitor.config_schema import KeyPath, dotted
from monitor.errors import ConfigError

DEFAULT_GROUP_INTERVAL_SECONDS = 300.0  # Alertmanager's own default (see the docstring)
MIN_GROUP_WAIT_SECONDS = 1.0  # inhibitions need a round's alerts together (the docstring)
# Alerts about one replica's own sight; as inhibition sources they would cross replicas.
REPLICA_LOCAL = frozenset({"SlurmMonitorBlind"})
NOWHERE = "slurm-sla-nowhere"  # the root's receiver: alerts no route sends anywhere end here


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "alertmanager-config",
        help="print the Alertmanager configuration equivalent to the monitor's alerting",
        description="Print an Alertmanager YAML configuration (routes, receivers, "
        "inhibit_rules) equivalent to the monitor's own: grouping and repeat from [alerts], "
        "routes from [[alerts.routes]], one receiver per [[ha.receivers]] entry (per "
        "[[receivers]] entry without [ha]), the engine's inhibitions. Exit 0; 4 when the "
        "config is invalid or a receiver setting has no Alertmanager equivalent.",
    )
    add_config_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(generate(load_config(args.config)))
    return 0


def generate(config: Config) -> str:
    """The YAML text; :class:`ConfigError` listing every receiver setting it cannot carry."""
    problems: list[str] = []
    base: KeyPath = ("ha", "receivers") if config.ha is not None else ("receivers",)
    sources = config.ha.receivers if config.ha is not None else config.receivers
    receivers: list[tuple[ReceiverConfig, dict[str, Any]]] = []
    for i, rc in enumerate(sources):
        if rc.type == "alertmanager":
            continue  # the Alertmanager itself, in a single-replica config
        out = _receiver(rc, (*base, i), problems)
        receivers.append((rc, out))
    if problems:
        where = str(config.source or "<config>")
        raise ConfigError([f"{where}: {p}" for p in problems])
    doc = {
        "route": _route(config, [rc for rc, _ in receivers]),
        "inhibit_rules": [_inhibit(rule) for rule in inhibitions(config)],
        "receivers": [{"name": NOWHERE}, *(out for _, out in receivers)],
    }
    head = (
        "# Generated by `slurm-sla alertmanager-config` from "
        f"{config.source.name if config.source else 'the monitor config'}: regenerate it "
        "after editing that file, do not edit it here.\n"
    )
    return head + to_yaml(doc)


def inhibitions(config: Config) -> tuple[Inhibition, ...]:
    """The engine's inhibitions the Alertmanager applies (the docstring says which)."""
    if config.ha is None:
        return INHIBITIONS
    return tuple(rule for rule in INHIBITIONS if rule.source not in REPLICA_LOCAL)


# --- routes -------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """Alertmanager's duration syntax (whole milliseconds at most)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _route(config: Config, receivers: Sequence[ReceiverConfig]) -> dict[str, Any]:
    s = config.alerts
    children = []
    names = {rc.name: rc for rc in receivers}
    filters: list[tuple[list[str], Sequence[str]]] = (
        [(_matchers(r), r.receivers) for r in s.routes]
        if s.routes
        else [([], [rc.name for rc in receivers])]
    )
    for matchers, chosen in filters:
        for name in chosen:
            rc = names.get(name)
            if rc is None:
                continue
            child: dict[str, Any] = {"receiver": name}
            if matchers:
                child["matchers"] = matchers
            repeat = _options(rc).repeat_interval_seconds
            if repeat:
                child["repeat_interval"] = duration(repeat)
            child["continue"] = True
            children.append(child)
    route: dict[str, Any] = {
        "receiver": NOWHERE,
        "group_by": list(s.group_by),
        "group_wait": duration(max(s.group_wait_seconds, MIN_GROUP_WAIT_SECONDS)),
        "group_interval": duration(s.group_interval_seconds or DEFAULT_GROUP_INTERVAL_SECONDS),
        "repeat_interval": duration(s.repeat_interval_seconds),
    }
    if children:
        route["routes"] = children
    return route


def _matchers(route: Any) -> list[str]:
    out = []
    for label, allowed in (
        ("severity", route.severities),
        ("cluster", route.clusters),
        ("alertname", route.alertnames),
    ):
        if allowed is not None:
            out.append(_matcher(label, allowed))
    return out


def _matcher(label: str, values: Sequence[str]) -> str:
    if len(values) == 1:
        return f'{label}="{_quote(values[0])}"'
    pattern = "|".join(re.escape(v) for v in sorted(values)) or "^$"
    return f'{label}=~"{_quote(pattern)}"'


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _inhibit(rule: Inhibition) -> dict[str, Any]:
    return {
        "source_matchers": [
            f'alertname="{rule.source}"',
            *(f'{k}="{_quote(v)}"' for k, v in sorted(rule.source_match.items())),
        ],
        "target_matchers": [
            _matcher("alertname", sorted(rule.targets)),
            *(f'{k}="{_quote(v)}"' for k, v in sorted(rule.target_match.items())),
        ],
        "equal": list(rule.equal),
    }


# --- receivers ----------------------------------------------------------------------------


def _options(rc: ReceiverConfig) -> ReceiverOptions:
    return rc.settings if rc.settings is not None else ReceiverOptions()


def _receiver(rc: ReceiverConfig, p: KeyPath, problems: list[str]) -> dict[str, Any]:
    o: Any = _options(rc)

    def secret(s: Secret, key: str, am_key: str, *, file_key: str | None = None) -> dict[str, str]:
        if s.env:
            problems.append(
                f"{dotted((*p, key + '_env'))}: Alertmanager reads no environment variables; "
                f"give {key} or {key}_file"
            )
            return {}
        if s.file:
            if file_key is None:
                problems.append(
                    f"{dotted((*p, key + '_file'))}: Alertmanager 0.25 cannot read this from "
                    f"a file; give {key}"
                )
                return {}
            return {file_key: s.file}
        return {am_key: s.value} if s.value else {}

    base: dict[str, Any] = {"send_resolved": bool(o.send_resolved)}
    if rc.type == "webhook":
        cfg = {**secret(o.url, "url", "url"), **base}
        if o.bearer_token:
            cred = secret(
                o.bearer_token, "bearer_token", "credentials", file_key="credentials_file"
            )
            cfg["http_config"] = {"authorization": {"type": "Bearer", **cred}}
        if o.hmac_secret:
            problems.append(
                f"{dotted((*p, 'hmac_secret'))}: Alertmanager does not sign webhooks; "
                "use bearer_token (or TLS) for the receiver to check the sender"
            )
        if o.max_alerts:
            cfg["max_alerts"] = o.max_alerts
        return {"name": rc.name, "webhook_configs": [cfg]}
    if rc.type == "slack":
        cfg = {**secret(o.url, "url", "api_url", file_key="api_url_file"), **base}
        cfg.update(
            {k: getattr(o, k) for k in ("channel", "username", "icon_emoji") if getattr(o, k)}
        )
        return {"name": rc.name, "slack_configs": [cfg]}
    if rc.type == "pagerduty":
        cfg = {
            **secret(o.routing_key, "routing_key", "routing_key", file_key="routing_key_file"),
            "url": o.url,
            "client": o.client,
            **base,
        }
        return {"name": rc.name, "pagerduty_configs": [cfg]}
    if rc.type == "email":
        return {"name": rc.name, "email_configs": [_email(o, p, base, secret, problems)]}
    problems.append(f"{dotted((*p, 'type'))}: no Alertmanager equivalent for {rc.type!r}")
    return {"name": rc.name}


def _email(
    o: Any, p: KeyPath, base: Mapping[str, Any], secret: Any, problems: list[str]
) -> dict[str, Any]:
    port = o.effective_port
    if o.security == "tls" and port != 465:
        problems.append(
            f"{dotted((*p, 'security'))}: Alertmanager speaks implicit TLS on port 465 only"
        )
    cfg: dict[str, Any] = {
        "to": ", ".join(o.to),
        "from": o.sender,
        "smarthost": f"{o.host}:{port}",
        "require_tls": o.security == "starttls",
    }
    if o.username:
        cfg["auth_username"] = o.username
        cfg.update(secret(o.password, "password", "auth_password", file_key="auth_password_file"))
    tls = {}
    if o.ca_file:
        tls["ca_file"] = o.ca_file
    if not o.tls_verify:
        tls["insecure_skip_verify"] = True
    if tls:
        cfg["tls_config"] = tls
    if o.subject_prefix:
        subject = '{{ template "email.default.subject" . }}'
        cfg["headers"] = {"Subject": f"{o.subject_prefix} {subject}"}
    cfg.update(base)
    return cfg


# --- YAML ---------------------------------------------------------------------------------


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML for dicts, lists and scalars; strings double-quoted the JSON way (valid
    YAML, and no value can turn into another type or a comment)."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        out = ""
        for k, v in value.items():
            if _scalar(v) or v == [] or v == {}:
                out += f"{pad}{k}: {_inline(v)}\n"
            else:
                out += f"{pad}{k}:\n" + to_yaml(v, indent + 1)
        return out
    if isinstance(value, list):
        out = ""
        for item in value:
            text = to_yaml(item, indent + 1) if not _scalar(item) else f"{pad}  {_inline(item)}\n"
            out += pad + "- " + text[len(pad) + 2 :]
        return out
    return pad + _inline(value) + "\n"


def _scalar(v: Any) -> bool:
    return not isinstance(v, dict | list)


def _inline(v: Any) -> str:
    if v == []:
        return "[]"
    if v == {}:
        return "{}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return json.dumps(str(v))
