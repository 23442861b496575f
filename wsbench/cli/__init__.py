"""The ``wsbench`` command line: a thin layer.

Each subcommand lives in its own module and is imported only when it is used, so
``wsbench serve`` never imports the load engine and nothing here imports Locust.
This module maps exceptions to exit codes and prints errors as one line:

    0  success            1  a gate failed (``gate``, ``run --gate``)
    2  usage / bad input   3  wsbench itself failed     130  interrupted
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from wsbench.errors import LocalError, UsageError, WsbenchError

__all__ = ["main", "cli", "EXIT_OK", "EXIT_GATE_FAILED", "EXIT_USAGE", "EXIT_LOCAL", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCAL = 3
EXIT_INTERRUPTED = 130

#: subcommand name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "run": "wsbench.cli.run:run",
    "serve": "wsbench.cli.serve:serve",
    "merge": "wsbench.cli.merge:merge",
    "lab": "wsbench.cli.lab:lab",
    "conform": "wsbench.cli.conform:conform",
    "report": "wsbench.cli.report:report",
    "compare": "wsbench.cli.report:compare",
    "gate": "wsbench.cli.gate:gate",
    "capacity": "wsbench.cli.capacity:capacity",
    "k8s": "wsbench.cli.k8s:k8s",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # that command is not built yet
                return None
            raise
        command: click.Command = getattr(module, attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wsbench")
def cli() -> None:
    """wsbench: what does this ingress do to my WebSocket sessions?

    Load-test and conformance-test WebSocket endpoints, directly or through the
    real proxies behind Kubernetes Ingress controllers.
    """


def error_line(message: str) -> None:
    """Print one error line on stderr."""
    click.echo(f"wsbench: error: {message}", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI and map exceptions to exit codes (never a traceback)."""
    try:
        rv = cli.main(args=argv, prog_name="wsbench", standalone_mode=False)
    except click.UsageError as exc:
        error_line(_click_usage_line(exc))
        return sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        error_line("interrupted")
        return sys.exit(EXIT_INTERRUPTED)
    except click.exceptions.Exit as exc:
        return sys.exit(exc.exit_code)
    except click.ClickException as exc:
        error_line(exc.format_message())
        return sys.exit(exc.exit_code)
    except UsageError as exc:
        error_line(str(exc))
        return sys.exit(EXIT_USAGE)
    except LocalError as exc:
        error_line(str(exc))
        return sys.exit(EXIT_LOCAL)
    except WsbenchError as exc:
        error_line(str(exc))
        return sys.exit(EXIT_LOCAL)
    except KeyboardInterrupt:
        error_line("interrupted")
        return sys.exit(EXIT_INTERRUPTED)
    if isinstance(rv, int):
        return sys.exit(rv)
    return sys.exit(EXIT_OK)


def _click_usage_line(exc: click.UsageError) -> str:
    message = exc.format_message().replace("\n", " ")
    if exc.ctx is not None and exc.ctx.command_path:
        return f"{exc.ctx.command_path}: {message}"
    return message
