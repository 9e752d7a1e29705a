"""Where a plotly figure's legend goes: under the plots, in a bottom margin sized for its rows, so its last entry is
never cut off by the figure's edge (a fixed margin cut off the live curves' last entry) and it never covers a curve."""

from __future__ import annotations

import math

import plotly.graph_objects as go

ROW_PX = 22      # one row of legend entries
AXIS_PX = 80     # the x axis' tick labels and title, above the legend
# a legend entry of this many characters fits a column when the figure, 700 px wide (a plot on a 1,000 px window),
# is cut into 3 or 2 columns (about 7.5 px a character at plotly's 12 px font, 50 px for the line sample); longer
# names get fewer columns, down to one a row (86 characters there)
CHARS_PER_COLUMNS = {3: 24, 2: 40}


def legend_below(fig: go.Figure, plots_height: int, columns: int = 3) -> go.Figure:
    """Lay the legend out under the plots in at most `columns` columns (fewer when its names are long, so that no
    name is cut short): the figure grows by the legend's rows so that `plots_height` px stay for the plots."""
    names = [t.name or "" for t in fig.data if t.showlegend is not False]
    longest = max((len(n) for n in names), default=0)
    columns = next((c for c in range(columns, 1, -1) if longest <= CHARS_PER_COLUMNS.get(c, 0)), 1)
    bottom = AXIS_PX + ROW_PX * math.ceil(max(len(names), 1) / columns)
    fig.update_layout(height=plots_height + bottom, margin={"b": bottom},
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom",
                              "x": 0, "xanchor": "left", "entrywidthmode": "fraction",
                              "entrywidth": 1 / columns - 0.01, "tracegroupgap": 0})
    return fig
