"""homog.runtime.report: the page (report.html), scores.csv and diffs, from the typed results
of a run directory."""
