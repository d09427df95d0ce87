"""The ``[status]`` table: who may read the status page and how much it says. Read with
the config's :class:`Reader`, so every error carries its key path and line.

```toml
[status]
auth = true      # false: /status and /status.json without the web config's basic auth
                 # (/metrics keeps it)
public = false   # true: no host names, no causes; service states and durations only
title = "Slurm service status"
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.config_schema import KeyPath, Reader

DEFAULT_TITLE = "Slurm service status"


@dataclass(frozen=True)
class StatusSettings:
    auth: bool = True
    public: bool = False
    title: str = DEFAULT_TITLE


def read_status(r: Reader, raw: Any, p: KeyPath) -> StatusSettings:
    d = r.table(raw, p, StatusSettings.__dataclass_fields__)
    title = r.string(d, p, "title", DEFAULT_TITLE)
    if title is not None and not title.strip():
        r.error((*p, "title"), "must not be empty")
    return StatusSettings(
        auth=r.boolean(d, p, "auth", True),
        public=r.boolean(d, p, "public", False),
        title=(title or DEFAULT_TITLE).strip() or DEFAULT_TITLE,
    )
