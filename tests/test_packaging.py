"""Release packaging: sdist and wheel contents, ``twine check``, and the wheel in a clean venv.

The first tests read the packaging metadata only (what is declared must exist, one
Highcharts pin); the ones marked ``slow`` build the sdist and wheel.

The wheel is installed into a fresh ``python -m venv`` (its dependencies come
from the package index) and run from a folder outside the source tree, so
nothing can be imported from the checkout by accident: a demo tree is probed
with ``init``, collected and exported, the schema upgraded, and a Sphinx page
with the extension built, as an operator would do it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sphinxcontrib_scmmonitor import __version__

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sphinxcontrib_scmmonitor"



def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that could point Python back at the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SCMMONITOR_CONFIG")}
    env.update(extra)
    return env


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_package_data_and_manifest_name_only_what_exists() -> None:
    for pattern in pyproject()["tool"]["setuptools"]["package-data"]["sphinxcontrib_scmmonitor"]:
        assert list(PACKAGE.glob(pattern)), f"package-data {pattern!r} matches no file"
    for line in (ROOT / "MANIFEST.in").read_text().splitlines():
        words = line.split()
        if words and words[0] in ("graft", "include"):
            for name in words[1:]:
                assert (ROOT / name).exists(), f"MANIFEST.in: {line!r} names nothing"


def test_the_test_extra_is_the_dev_extra_under_its_old_name() -> None:
    extras = pyproject()["project"]["optional-dependencies"]
    assert extras["test"] == ["sphinxcontrib-scmmonitor[dev]"]
    dev = " ".join(extras["dev"])
    for tool in ("pytest", "ruff", "mypy", "types-paramiko", "build", "twine"):
        assert tool in dev, tool


#: the one Highcharts pin: `make demo` installs it; the docs and the JS harness follow it
HIGHCHARTS_PIN = ROOT / "example_docs" / "package.json"


def test_one_highcharts_version_everywhere() -> None:
    pinned = json.loads(HIGHCHARTS_PIN.read_text())["dependencies"]["highcharts"]
    assert pinned[0].isdigit(), f"{HIGHCHARTS_PIN}: pin an exact version, not {pinned!r}"
    manifests = [p for p in ROOT.glob("**/package*.json")
                 if "node_modules" not in p.parts and "_build" not in p.parts]
    assert len(manifests) >= 3
    for path in manifests:
        doc = json.loads(path.read_text())
        declared = {**doc.get("dependencies", {}), **doc.get("devDependencies", {})}
        locked = doc.get("packages", {}).get("node_modules/highcharts", {}).get("version")
        for found in (declared.get("highcharts"), locked):
            assert found in (None, pinned), \
                f"{path.relative_to(ROOT)} has Highcharts {found}, {HIGHCHARTS_PIN.name} {pinned}"
        # a lock file's root entry repeats its package.json's dependencies
        root_entry = doc.get("packages", {}).get("", {})
        for deps in (root_entry.get("dependencies", {}), root_entry.get("devDependencies", {})):
            assert deps.get("highcharts", pinned) == pinned, path


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        env=clean_env(), timeout=600)
    print(f"build: {time.monotonic() - started:.1f} s")
    return out


def package_files() -> set[str]:
    """Every file of the package in the checkout that a wheel must carry."""
    files = set()
    for path in PACKAGE.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.add(path.relative_to(ROOT).as_posix())
    return files


def only(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


@pytest.mark.slow
def test_wheel_carries_every_package_file(dist: Path) -> None:
    wheel = only(dist, f"sphinxcontrib_scmmonitor-{__version__}-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    missing = package_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    for needed in ("sphinxcontrib_scmmonitor/store/migrations/env.py",
                   "sphinxcontrib_scmmonitor/store/migrations/script.py.mako",
                   "sphinxcontrib_scmmonitor/py.typed"):
        assert needed in names
    assert any(n.startswith("sphinxcontrib_scmmonitor/store/migrations/versions/")
               and n.endswith(".py") for n in names)
    static = {n for n in names if n.startswith("sphinxcontrib_scmmonitor/static/")}
    assert any(n.endswith(".js") for n in static) and any(n.endswith(".css") for n in static)
    # the page script's modules, joined at build time (docs/sphinx.rst, "The page script")
    assert {f"sphinxcontrib_scmmonitor/static/scmmonitor/{m}.js" for m in (
        "format", "data", "series", "options", "status-table", "loader", "dom", "main")} <= static
    assert not [n for n in names if n.endswith((".pyc", ".db"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "scm-monitor = sphinxcontrib_scmmonitor.cli:run" in \
        zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_sdist_carries_package_docs_and_tests(dist: Path) -> None:
    sdist = only(dist, f"sphinxcontrib_scmmonitor-{__version__}.tar.gz")
    prefix = f"sphinxcontrib_scmmonitor-{__version__}/"
    with tarfile.open(sdist) as tar:
        names = {n.removeprefix(prefix) for n in tar.getnames()}

    missing = package_files() - names
    assert not missing, f"not in the sdist: {sorted(missing)}"
    for needed in ("pyproject.toml", "README.md", "tox.ini", "docs/conf.py", "docs/index.rst",
                   "docs/_ext/docsgen.py", "tests/test_packaging.py", "tests/helpers/backups.py"):
        assert needed in names, needed
    assert not [n for n in names if "/_build/" in n or "node_modules" in n
                or n.endswith((".pyc", ".db"))]


@pytest.mark.slow
def test_twine_check_passes(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    proc = run([sys.executable, "-m", "twine", "check", "--strict", *files], timeout=120)
    assert proc.stdout.count("PASSED") == len(files)


@pytest.mark.slow
def test_version_comes_from_one_place(dist: Path) -> None:
    wheel = only(dist, "*.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))
    assert f"\nVersion: {__version__}\n" in meta.decode()
    assert "version =" not in (ROOT / "pyproject.toml").read_text().split("[project]")[1] \
        .split("\n[")[0]


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_main_job(dist: Path, tmp_path: Path) -> None:
    wheel = only(dist, "*.whl")
    venv = tmp_path / "venv"
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    py = venv / "bin" / "python"
    scm = venv / "bin" / "scm-monitor"
    run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        env=clean_env(), timeout=900)
    print(f"venv + install: {time.monotonic() - started:.1f} s")
    work = tmp_path / "work"  # outside the checkout: nothing importable from the source
    work.mkdir()
    env = clean_env()

    where = run([str(py), "-c", "import sphinxcontrib_scmmonitor as m; print(m.__file__)"],
                cwd=work, env=env).stdout.strip()
    assert where.startswith(str(venv)), where
    assert run([str(scm), "--version"], cwd=work, env=env).stdout.strip() == \
        f"scm-monitor {__version__}"

    run([str(py), "-c", "from pathlib import Path; from sphinxcontrib_scmmonitor.cli.demo import "
         "make_demo_nodes; make_demo_nodes(Path('backups').resolve(), days=60)"],
        cwd=work, env=env, timeout=300)
    toml = work / "scmmonitor.toml"
    run([str(scm), "init", str(toml), "--probe", "local", str(work / "backups" / "C" / "cms02"),
         "--node", "C"], cwd=work, env=env)
    with toml.open("a") as fh:
        fh.write(f'\n[nodes.H1]\nhub = "cms02"\nhost = "local"\n'
                 f"root = {json.dumps(str(work / 'backups' / 'H1' / 'cms02'))}\n")

    html = work / "html"
    (html / "_static").mkdir(parents=True)  # --export writes into a built site, never makes one
    proc = run([str(scm), "-c", str(toml), "collect", "--export", str(html)], cwd=work, env=env,
               timeout=300)
    assert "C: ok" in proc.stdout and "H1: ok" in proc.stdout
    for node in ("C", "H1"):
        doc = json.loads((html / "_static" / "scmmonitor" / "data" / f"{node}.json").read_text())
        assert doc["format"] == 2 and doc["node"] == node and doc["series"]

    proc = run([str(scm), "-c", str(toml), "db", "upgrade"], cwd=work, env=env)
    assert "up to date" in proc.stdout

    # a Sphinx page with the installed extension: its js/css come out of the wheel
    site = work / "site"
    site.mkdir()
    (site / "conf.py").write_text(
        'extensions = ["sphinxcontrib_scmmonitor"]\n'
        'scmmonitor_config = "../scmmonitor.toml"\n'
        'scmmonitor_highcharts = "https://code.highcharts.com/stock/highstock.js"\n')
    (site / "index.rst").write_text("Backups\n=======\n\n.. scm-backup-status::\n\n"
                                    ".. scm-backup-chart:: C\n   :scale: log\n")
    run([str(venv / "bin" / "sphinx-build"), "-W", "-q", "-b", "html", str(site),
         str(site / "_build")], cwd=work, env=env, timeout=300)
    static = site / "_build" / "_static" / "scmmonitor"
    assert (static / "scmmonitor.js").is_file() and (static / "scmmonitor.css").is_file()
    # the page script was joined from the wheel's modules: one classic script, its version
    assert f'const VERSION = "{__version__}";' in (static / "scmmonitor.js").read_text()
    assert json.loads((static / "data" / "C.json").read_text())["node"] == "C"
    assert "scmmonitor.js" in (site / "_build" / "index.html").read_text()
    status = subprocess.run([str(scm), "-c", str(toml), "status", "--format", "json"],
                            capture_output=True, text=True, cwd=work, env=env)
    assert status.returncode in (0, 1, 2), status.stderr
    assert json.loads(status.stdout)["nodes"]
    # the migrations are found inside the installed package, not next to the working folder
    fresh = work / "fresh.toml"
    fresh.write_text(toml.read_text().replace('#database = "sqlite:///scmmonitor.db"',
                                              'database = "sqlite:///fresh.db"'))
    proc = run([str(scm), "-c", str(fresh), "db", "upgrade"], cwd=work, env=env)
    assert "upgraded" in proc.stdout and (work / "fresh.db").exists()
