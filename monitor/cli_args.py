"""Arguments and exit codes every command shares."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from monitor.config import DEFAULT_CONFIG_PATH

# "Could not run": bad arguments, a configuration missing, unreadable or invalid, an input
# file that cannot be read, a state store that cannot be opened. No command's verdict uses
# it (probe answers 0-3, check-config 0/1, parse 0/1, test-alert 0/1), so a script never
# reads "the config is missing" as "degraded" or "down".
COULD_NOT_RUN = 4


class ArgumentParser(argparse.ArgumentParser):
    """argparse, except that a usage error exits :data:`COULD_NOT_RUN`, not 2: 2 is
    ``probe``'s "a service is down"."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(COULD_NOT_RUN, f"{self.prog}: error: {message}\n")


def add_config_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        metavar="FILE",
        help=f"configuration file (default {DEFAULT_CONFIG_PATH})",
    )
