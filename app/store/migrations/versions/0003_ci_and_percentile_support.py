"""What a figure's interval is, and what its percentile rests on: `metrics.ci_method` (text),
`metrics.n_distinct` and `metrics.caveat`.

Until now `ci95_low`/`ci95_high` held a Student-t 95% interval of the mean beside a median. New runs
store a distribution-free interval of the median and say so in `ci_method`; existing intervals keep
their values and get the old meaning written beside them, so no stored figure changes what it says.
Going back drops the three columns (the intervals stay; their method text is lost).

Revision ID: 0003_ci_and_percentile_support
Revises: 0002_listing_copies
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_ci_and_percentile_support"
down_revision = "0002_listing_copies"
branch_labels = None
depends_on = None

# Written out, not imported: this revision keeps meaning what it meant when it shipped.
LEGACY_MEAN_CI = ("95% CI of the mean (Student t): stored before store revision 0003; the value beside "
                  "it is the median")


def upgrade() -> None:
    op.add_column("metrics", sa.Column("ci_method", sa.Text))
    op.add_column("metrics", sa.Column("n_distinct", sa.Integer))
    op.add_column("metrics", sa.Column("caveat", sa.Text))
    op.get_bind().execute(sa.text("UPDATE metrics SET ci_method = :text WHERE ci95_low IS NOT NULL "
                                  "AND ci95_high IS NOT NULL"), {"text": LEGACY_MEAN_CI})


def downgrade() -> None:
    for column in ("caveat", "n_distinct", "ci_method"):
        op.drop_column("metrics", column)
