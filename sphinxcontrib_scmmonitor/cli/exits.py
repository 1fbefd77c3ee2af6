"""Every command's exit statuses: what ``scm-monitor`` returns and what docs/cli.rst lists.

The commands return the constants below; the CLI reference renders
:data:`EXIT_STATUSES` (the ``scmmonitor-exit-statuses`` directive of the docs),
so the page and the program cannot disagree. ``status`` follows the Nagios
plugin convention of :data:`checks.EXIT_CODES`.
"""

from __future__ import annotations

from typing import NamedTuple

from ..checks.reasons import ALARM, EXIT_CODES, NAGIOS_WORDS, OK, UNKNOWN, WARN

#: the command did its job
SUCCESS = 0
#: the command ran, but some of its work failed (a node, a probe, a mail, the store)
FAILED = 1
#: usage, configuration or write error: what the operator must fix before running again
USAGE = 2
#: Ctrl-C (128 + SIGINT, as a shell reports it)
INTERRUPTED = 130

_USAGE_TEXT = "usage or configuration error"


class Exit(NamedTuple):
    """One exit status of one command."""

    code: int
    #: a few words for ``--help``; empty: not worth a mention there
    short: str
    #: the sentence of the docs' table (reStructuredText)
    meaning: str


#: command -> its exit statuses, in the order the docs list them
EXIT_STATUSES: dict[str, tuple[Exit, ...]] = {
    "init": (Exit(SUCCESS, "written", "the file was written (or printed), or ``--add`` added "
                  "the node"),
             Exit(FAILED, "probe failed",
                  "``--probe`` could not list the node; nothing was written"),
             Exit(USAGE, "file exists or cannot be written",
                  "the file exists (give ``--force``), it cannot be written, ``--add``'s "
                  "node is already in it or its file is missing, or a usage error; nothing "
                  "was written")),
    "collect": (Exit(SUCCESS, "all collected", "every node was collected"),
                Exit(FAILED, "some node failed or the export failed",
                     "some node failed (the others are stored), or the export failed (the "
                     "collection is stored all the same; ``--export DIR`` must be an "
                     "existing Sphinx HTML output)"),
                Exit(USAGE, "config error", f"{_USAGE_TEXT}, or the store cannot be opened")),
    "export": (Exit(SUCCESS, "", "every JSON file was written"),
               Exit(USAGE, "on error", "usage, configuration or write error, or ``--outdir`` "
                    "does not exist or is not a Sphinx HTML output (it is never created: a typo "
                    "must not go unnoticed); "
                    "nothing was written")),
    "status": (Exit(EXIT_CODES[OK], NAGIOS_WORDS[OK], NAGIOS_WORDS[OK]),
               Exit(EXIT_CODES[WARN], NAGIOS_WORDS[WARN], NAGIOS_WORDS[WARN]),
               Exit(EXIT_CODES[ALARM], NAGIOS_WORDS[ALARM], NAGIOS_WORDS[ALARM]),
               Exit(EXIT_CODES[UNKNOWN], NAGIOS_WORDS[UNKNOWN],
                    f"{NAGIOS_WORDS[UNKNOWN]} (a usage or configuration error, e.g. an "
                    "unknown node argument or option, the store cannot be read, or "
                    "``--output`` cannot be written), said on the one line of stdout as "
                    "a monitoring system shows it")),
    "notify": (Exit(SUCCESS, "sent or nothing to send", "mail sent, or nothing to send"),
               Exit(FAILED, "failed", "sending failed, ``--html FILE`` could not be written, "
                    "or the store cannot be read"),
               Exit(USAGE, "", _USAGE_TEXT)),
    "db upgrade": (Exit(SUCCESS, "up to date", "the schema is up to date"),
                   Exit(FAILED, "failed", "the upgrade failed"),
                   Exit(USAGE, "", _USAGE_TEXT)),
    "db rename-hub": (Exit(SUCCESS, "moved", "the hub's nodes were moved to the new name"),
                      Exit(FAILED, "nothing changed",
                           "the new hub is not in the configuration, the database has no "
                           "node of the old hub, or the store failed; nothing changed"),
                      Exit(USAGE, "", _USAGE_TEXT)),
}

#: for every command
COMMON: tuple[Exit, ...] = (Exit(INTERRUPTED, "", "interrupted (Ctrl-C)"),)


def summary(command: str) -> str:
    """``exit 0 OK, 1 WARNING, ...``: a command's exit statuses in a few words, for --help."""
    return "exit " + ", ".join(f"{e.code} {e.short}" if e.short else str(e.code)
                               for e in EXIT_STATUSES[command] if e.short or e.code == 0)
