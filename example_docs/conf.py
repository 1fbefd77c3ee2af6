"""Sphinx configuration of the example monitor page (``make demo`` builds it)."""

project = "SCM backup monitor (example)"
author = "sphinxcontrib-scmmonitor developers"
copyright = "the sphinxcontrib-scmmonitor developers"

extensions = ["sphinxcontrib_scmmonitor"]

# written by `make demo` from scmmonitor.toml.in (the demo's backup roots are absolute paths)
scmmonitor_config = "scmmonitor.toml"
# None: node_modules/highcharts next to this file (`npm install` here, see package.json)
scmmonitor_highcharts = None

html_theme = "alabaster"
html_title = "SCM backup monitor"
exclude_patterns = ["_build", "node_modules", "demo-backups"]
html_theme_options = {"page_width": "1180px", "sidebar_width": "200px"}
