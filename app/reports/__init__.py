"""Comparison reports (HTML, PDF, CSV, JSON, Markdown) and importers of other tools' benchmark results.

`app.reports.export.export_runs` is the one entry point the GUI and the CLI share; every format is
rendered from the same `app.reports.model.Report`, built from the store's records.
"""
