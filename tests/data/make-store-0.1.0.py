"""How store-0.1.0.sqlite was written: run with the 0.1.0 code first on PYTHONPATH.

    PYTHONPATH=<0.1.0 checkout> python tests/data/make-store-0.1.0.py /tmp/out

Three nodes of two hubs, 12 nights of three series each (one series name not UTF-8),
a two-file backup, four files gone, one changed in place, a failed run, a run left
``running`` by a killed collector (then ``interrupted``), and two hubs' alert state.
"""

import os
import shutil
import sys
import time
from pathlib import Path

from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.backups import plant, write_config

T0 = 1_764_000_000  # 2025-11-24
DAY = 86400

base = Path(sys.argv[1])
shutil.rmtree(base, ignore_errors=True)
base.mkdir()
roots = {n: base / "trees" / n for n in ("cms01", "cms02-copy", "dyb")}
files: dict[str, list[bytes]] = {}
for n, root in roots.items():
    third = "repos/\udcff-odd" if n == "dyb" else "git/aberdeen"
    for d in range(12):
        for s in ("svn/dybsvn", "tracs/env", third):
            at = T0 + d * DAY + 3600
            files.setdefault(n, []).append(plant(root, s, at, "x.tar.gz", 1000 + d * 7))
    plant(root, "svn/dybsvn", T0 + 3 * DAY + 3600, "second.tar.gz", 55)
cfg = write_config(base, {"cms01": {"root": str(roots["cms01"])},
                          "cms02-copy": {"root": str(roots["cms02-copy"]), "hub": "hub2"},
                          "dyb": {"root": str(roots["dyb"])}},
                   database=f"sqlite:///{base / 'store.db'}", hubs=("cms02", "hub2"))
collect = ["-c", str(cfg), "collect", "--progress", "lines"]
assert cli.main(collect) == 0
for f in files["cms01"][:4]:
    os.unlink(f)
os.truncate(files["dyb"][5], 4242)
assert cli.main(collect) == 0
roots["cms02-copy"].rename(base / "trees" / "away")
assert cli.main(collect) == 1
(base / "trees" / "away").rename(roots["cms02-copy"])
store = Store(f"sqlite:///{base / 'store.db'}")
store.start_run(store.ensure_node("dyb", "cms02"), time.time())  # a killed collector's run
store.record_notification("cms02", "alarm", "fp-cms02", 1_764_500_000.25)
store.record_notification("hub2", "warn", "fp-hub2", 1_764_600_000.5)
store.close()
assert cli.main(collect) == 0
