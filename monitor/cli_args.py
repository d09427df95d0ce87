"""Arguments every command that reads the configuration shares."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.config import DEFAULT_CONFIG_PATH


def add_config_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        metavar="FILE",
        help=f"configuration file (default {DEFAULT_CONFIG_PATH})",
    )
