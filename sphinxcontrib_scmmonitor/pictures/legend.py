"""The legend's layout: labels in rows under the plot, the rest counted as "... and N more"."""

from __future__ import annotations


def legend_width(label: str) -> int:
    """Pixels one item takes: its line, its 11 px label, the gap to the next."""
    return 20 + int(len(label) * 11 * 0.58) + 16


def legend_layout(labels: list[str], width: int,
                  max_rows: int) -> tuple[int, list[tuple[int, int]]]:
    """(rows used, (row, x) per label that fits); the rest are counted as '... and N more'."""
    placed: list[tuple[int, int]] = []
    row = x = 0
    for label in labels:
        w = legend_width(label)
        if x and x + w > width:
            row, x = row + 1, 0
        if row >= max_rows:
            break
        placed.append((row, x))
        x += w
    if len(placed) < len(labels):
        # room for the "... and N more" note at the end of the last row
        while placed and placed[-1][0] == max_rows - 1 and \
                placed[-1][1] + legend_width(labels[len(placed) - 1]) > width - 110:
            placed.pop()
    rows = (placed[-1][0] + 1) if placed else (1 if labels else 0)
    return rows, placed
