"""Write scmmonitor.toml from scmmonitor.toml.in with the demo tree's absolute path.

    python write_config.py [DEMO_BACKUPS]     (default: ./demo-backups next to this file)
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def toml_string_body(text: str) -> str:
    """The inside of a TOML basic string: backslashes and quotes escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def main(argv: list[str]) -> int:
    backups = Path(argv[0]).resolve() if argv else HERE / "demo-backups"
    template = (HERE / "scmmonitor.toml.in").read_text(encoding="utf-8")
    target = HERE / "scmmonitor.toml"
    target.write_text(template.replace("@DEMO_BACKUPS@", toml_string_body(str(backups))),
                      encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
