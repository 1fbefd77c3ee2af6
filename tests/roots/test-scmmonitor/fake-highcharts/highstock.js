/* fake Highcharts Stock for the Python-side tests */ window.Highcharts = {fake: true};
