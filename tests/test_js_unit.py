"""The page script's modules: ``node --test`` of tests/js/*.test.mjs, the joined script, and
the facts the script shares with the Python side (docs/sphinx.rst, "The page script").

A missing ``node`` skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import __version__
from sphinxcontrib_scmmonitor.checks import SEVERITY, human_age, human_size
from sphinxcontrib_scmmonitor.config import NODE_NAME_RE
from sphinxcontrib_scmmonitor.sphinxext import assets
from sphinxcontrib_scmmonitor.sphinxext.directives import HEIGHT_RE
from sphinxcontrib_scmmonitor.text import DASH, LEVEL_SYMBOLS, MINUS, percent_change
from tests.sshd import require_tool

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "sphinxcontrib_scmmonitor" / "static" / "scmmonitor"
UNIT_TESTS = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node") or shutil.which("nodejs")
    require_tool(None if found else "node is not installed (apt-get install nodejs)")
    assert found is not None
    return found


def run_module(node: str, code: str) -> object:
    """Run ES module code that prints one JSON value; that value."""
    proc = subprocess.run([node, "--input-type=module", "-e", code], cwd=MODULES,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_node_test_runs_every_module_test(node: str) -> None:
    assert {p.name for p in UNIT_TESTS} >= {"format.test.mjs", "data.test.mjs",
                                             "series.test.mjs", "options.test.mjs",
                                             "status-table.test.mjs", "main.test.mjs"}
    proc = subprocess.run([node, "--test", *map(str, UNIT_TESTS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", proc.stdout, re.M))
    assert counts["fail"] == "0" and int(counts["pass"]) >= 20, proc.stdout[-2000:]


def test_joined_script_is_one_classic_script_with_the_package_version(node: str,
                                                                      tmp_path: Path) -> None:
    script = assets.joined_script()
    assert not re.search(r"^\s*(import|export)\b", script, re.M)
    assert f"const VERSION = {json.dumps(__version__)};" in script
    path = tmp_path / "scmmonitor.js"
    path.write_text(script)
    proc = subprocess.run([node, "--check", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    # every module is in it, each once, the ones imported before the ones importing them
    order = re.findall(r"^// --- ([\w.-]+\.js)$", script, re.M)
    assert sorted(order) == sorted(p.name for p in MODULES.glob("*.js"))
    assert order.index("format.js") < order.index("data.js") < order.index("main.js")


def test_joined_script_is_plain_es2017(node: str, tmp_path: Path) -> None:
    """No syntax newer than ES2017 reaches the page (acorn from ``npm install`` in tests/js)."""
    acorn = ROOT / "tests" / "js" / "node_modules" / "acorn" / "bin" / "acorn"
    require_tool(None if acorn.is_file() else "acorn is not installed (npm install in tests/js)")
    path = tmp_path / "scmmonitor.js"
    path.write_text(assets.joined_script())
    proc = subprocess.run([node, str(acorn), "--ecma2017", "--silent", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_joiner_refuses_what_it_cannot_join(tmp_path: Path) -> None:
    def join(files: dict[str, str]) -> str:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        return assets.joined_script(folder)

    ok = 'const VERSION = "@VERSION@";\n'
    assert "function a()" in join({"main.js": 'import { a } from "./a.js";\n' + ok,
                                   "a.js": "export function a() {}\n"})
    for files, message in [
        ({"main.js": 'import { b } from "./a.js";\n' + ok, "a.js": "export function a() {}\n"},
         "imports 'b', which a.js does not export"),
        ({"main.js": 'import { a } from "./a.js";\nfunction a() {}\n' + ok,
          "a.js": "export function a() {}\n"}, "'a' is defined in both a.js and main.js"),
        ({"main.js": 'import { a } from "./a.js";\n' + ok,
          "a.js": 'import { x } from "./main.js";\nexport const a = 1;\n'}, "import cycle"),
        ({"main.js": 'import * as a from "./a.js";\n' + ok, "a.js": "export const a = 1;\n"},
         "an import or export the joiner cannot read"),
        ({"main.js": "const x = 1;\n"}, '"@VERSION@" must appear once'),
    ]:
        with pytest.raises(assets.ScriptError, match=re.escape(message)):
            join(files)


def test_byte_and_age_formatters_agree_with_the_python_side(node: str) -> None:
    sizes = [0, 1, 1023, 1024, 1536, 10**6, 2**30 - 1, 3 * 2**30 + 12345, 5 * 2**40, 999 * 2**40,
             3000 * 2**40]
    ages = [0, 1.2, 89, 91, 600, 5399, 5401, 7 * 3600 + 17, 48 * 3600 - 7, 48 * 3600 + 7,
            30 * 86400 + 999]
    got = run_module(node, "import { humanBytes, humanAge } from './format.js';"
                     f"console.log(JSON.stringify([{sizes}.map((v) => humanBytes(v)), "
                     f"{ages}.map(humanAge)]))")
    assert got == [[human_size(v) for v in sizes], [human_age(v) for v in ages]]


def test_change_dash_and_status_symbol_agree_with_the_build_time_table(node: str) -> None:
    """The build-time status table (text.py) and the live one (format.js, series.js) write a
    change, an empty cell and a status the same way: ``+12 %``, an em dash, ``✔ ok``."""
    pairs = [(409, 400), (1125, 1000), (1000, 1000), (999, 1000), (9996, 10000),
             (10996, 10000), (1, 1000), (2**40 + 7, 2**40), (3 * 2**30, 2**30),
             (None, 5), (5, None), (5, 0), (0, 5), (10049, 10000), (10051, 10000)]
    got = run_module(node, "import { DASH, MINUS, percentChange } from './format.js';"
                     "import { LEVEL_SYMBOL } from './series.js';"
                     f"console.log(JSON.stringify([{json.dumps(pairs)}"
                     ".map(([a, b]) => percentChange(a, b)), DASH, MINUS, LEVEL_SYMBOL]))")
    assert got == [[percent_change(a, b) for a, b in pairs], DASH, MINUS, dict(LEVEL_SYMBOLS)]
    assert set(LEVEL_SYMBOLS) == {*SEVERITY.values(), "ok", "unknown"}


def test_node_name_and_height_patterns_agree_with_the_python_side(node: str) -> None:
    names = ["C", "cms01.example-2_x", "-x", ".hidden", "a/b", "../etc", "", "a b", "é", "a\n"]
    heights = ["400", "400px", "26em", "1.5rem", "50vh", "12pt", "3cm", "10mm", "2in", "1e3px",
               "10px; color: red", "px", "-3px", "400 px", ""]
    got = run_module(node, "import { NODE_NAME, HEIGHT } from './main.js';"
                     f"console.log(JSON.stringify([{json.dumps(names)}"
                     ".map((n) => NODE_NAME.test(n)),"
                     f" {json.dumps(heights)}.map((h) => HEIGHT.test(h))]))")
    assert got == [[NODE_NAME_RE.match(n) is not None for n in names],
                   [HEIGHT_RE.match(h) is not None for h in heights]]


def test_the_script_decodes_what_the_export_writes(node: str, tmp_path: Path) -> None:
    """Python writes format 2, the page's data.js reads it back: the same points, in ms."""
    from sphinxcontrib_scmmonitor import config, export
    from sphinxcontrib_scmmonitor.checks import check_node
    from sphinxcontrib_scmmonitor.store import BackupFile, NodeData, RunInfo, SeriesData

    now = 1_800_000_000
    histories = {
        "repos/env": [(now - 3 * 86400 + i, 2**40 + i * 7919, None) for i in range(3)],
        "two files/one folder": [(now - 10, 5, None), (now - 10, 6, now - 5),
                                 (now, 2**53 - 12, None)],
        "rotated": [(now - 300, 1, now - 100), (now - 200, 2, now - 100), (now - 50, 3, None)],
        "<script>\u2028&": [(now - 1, 0, None)],
    }
    settings = config.parse({"hubs": {"cms02": {}},
                             "nodes": {"C": {"hub": "cms02", "host": "local", "root": "/b"}}})
    data = NodeData(name="C", hub="cms02", series=[
        SeriesData(name=name, raw_name=name.encode(), backups=[BackupFile(*r) for r in rows])
        for name, rows in sorted(histories.items())],
        runs=[RunInfo(now - 60, now - 59.5, "failed", "timed out <b>", "local", 0, 0)])
    doc = export.node_document(settings.node("C"), data, check_node(settings.node("C"), data, now),
                               now)
    path = tmp_path / "C.json"
    export.write_document(path, doc)
    got = run_module(node, "import { readFileSync } from 'node:fs';"
                     "import { parseDocument } from './data.js';"
                     f"const d = parseDocument(readFileSync({json.dumps(str(path))}, 'utf8'));"
                     "console.log(JSON.stringify({series: d.series.map((s) => [s.name, s.x, s.size,"
                     " s.count, s.reasons.map((r) => r.level)]), runs: d.runs}))")
    want = []
    for s in doc["series"]:
        t, size, count = (export.undelta(s[k]) for k in ("t", "size", "count"))
        want.append([s["name"], [x * 1000 for x in t], size, count,
                     [r["level"] for r in s["reasons"]]])
    assert got == {"series": want,
                   "runs": [{"at": (now - 60) * 1000, "ok": False, "error": "timed out <b>"}]}
    assert [s[0] for s in want] == sorted(histories)
    assert want[2][3] == [1, 2, 1]  # "rotated": two folders gone before the third came
    assert want[3][2] == [11, 2**53 - 12]  # one folder's two files summed; sizes exact to 2**53
