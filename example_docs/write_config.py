"""Write scmmonitor.toml from scmmonitor.toml.in with the demo tree's absolute path.

    python write_config.py [DEMO_BACKUPS]     (default: ./demo-backups next to this file)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = "@DEMO_BACKUPS@"
#: a TOML basic string, or a comment (which runs to the end of its line)
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def toml_string_body(text: str) -> str:
    """The inside of a TOML basic string: backslashes and quotes escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def fill(template: str, backups: str) -> str:
    """``template`` with the placeholder replaced in its string values only: its comments
    keep naming the placeholder (they explain it)."""
    body = toml_string_body(backups)

    def one(match: re.Match[str]) -> str:
        token = match.group()
        return token if token.startswith("#") else token.replace(PLACEHOLDER, body)

    return _STRING_OR_COMMENT.sub(one, template)


def main(argv: list[str]) -> int:
    backups = Path(argv[0]).resolve() if argv else HERE / "demo-backups"
    template = (HERE / "scmmonitor.toml.in").read_text(encoding="utf-8")
    target = HERE / "scmmonitor.toml"
    target.write_text(fill(template, str(backups)), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
