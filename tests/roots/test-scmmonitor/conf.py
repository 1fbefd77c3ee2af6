# The test writes scmmonitor.toml next to this file (absolute paths to its demo tree and store).
extensions = ["sphinxcontrib_scmmonitor"]
scmmonitor_config = "scmmonitor.toml"
scmmonitor_highcharts = "fake-highcharts"
html_theme = "basic"
exclude_patterns = ["_build", "fake-highcharts"]
