"""The Results page's edge table (TP / FP / missed) and top-regulator list, on a tiny known network."""

import pandas as pd

from dash_core.network import edge_status_table, top_regulators


def test_edge_status_table_and_top_regulators():
    learned = pd.DataFrame({"source": ["A", "A", "B"], "target": ["X", "Y", "X"], "weight": [0.5, -2.0, 0.1]})
    truth = pd.DataFrame({"source": ["A", "C"], "target": ["Y", "X"], "weight": [1, 1]})
    table = edge_status_table(learned, truth)
    assert table["regulator"].tolist() == ["A", "A", "B", "C"]  # by strength, missed edges last
    assert table["status"].tolist() == ["true positive", "false positive", "false positive", "missed (false negative)"]
    assert table["strength rank"].iloc[:3].tolist() == [1, 2, 3] and pd.isna(table["strength rank"].iloc[3])
    assert "status" not in edge_status_table(learned).columns
    top = top_regulators(learned, truth)
    assert top["regulator"].tolist() == ["A", "B"] and top["total |effect|"].tolist() == [2.5, 0.1]
    assert top[["activating", "repressing", "true targets found", "true targets"]].iloc[0].tolist() == [1, 1, 1, 1]
