extensions = ["sphinxcontrib_scmmonitor"]
scmmonitor_config = "scmmonitor.toml"
scmmonitor_highcharts = "https://code.highcharts.com/stock/"
html_theme = "basic"
