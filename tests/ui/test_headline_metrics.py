"""Headline metrics are one field of the catalogue, and every place short of space reads it."""

from __future__ import annotations

from app import compare
from app.cli import output
from app.reports.model import key_metrics
from app.ui.runs_model import COLUMNS
from engine.metric_names import CATALOGUE, HEADLINE_METRICS


def test_headline_ranks_are_one_consecutive_order_of_catalogue_metrics() -> None:
    ranks = sorted(m.headline for m in CATALOGUE.values() if m.headline)
    assert ranks == list(range(1, len(ranks) + 1))
    assert HEADLINE_METRICS[0] == "output_tokens_per_s" and len(HEADLINE_METRICS) == len(ranks)


def test_cli_runs_view_bars_and_reports_take_their_metrics_from_the_headline_order() -> None:
    assert output.DEFAULT_COLUMNS == HEADLINE_METRICS[:len(output.DEFAULT_COLUMNS)]
    shown = [c.sort_key for c in COLUMNS if c.sort_key in CATALOGUE]
    assert shown == list(HEADLINE_METRICS[:len(shown)])
    assert key_metrics(list(reversed(CATALOGUE))) == list(HEADLINE_METRICS)
    assert compare.bar_metric_names([]) == [n for n in HEADLINE_METRICS if n not in
                                            compare.PEAK_MEMORY_CANDIDATES[:-1]][:compare.BAR_COUNT]
