"""The Results page's edge table and top regulators (UI only; the tables come from :mod:`dash_core.network`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dash_core.network import edge_status_table, top_regulators


def edge_table_panel(edges: pd.DataFrame, truth: pd.DataFrame | None, key: str) -> None:
    """Searchable, sortable table of the learned edges (with TP / FP / FN against a gold standard) + top regulators.

    ``edges`` and ``truth`` are ``source, target, weight`` tables (source = regulator).
    """
    table = edge_status_table(edges, truth)
    has_conf = "confidence" in edges.columns
    if has_conf:  # share of seeds keeping the edge (the recommended model of a sweep)
        conf = {(str(a), str(b)): c for a, b, c in zip(edges["source"], edges["target"], edges["confidence"],
                                                       strict=True)}
        table = table.assign(confidence=[conf.get((str(a), str(b))) for a, b in zip(table["regulator"],
                                                                                   table["target"], strict=True)])
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    query = c1.text_input("Search genes", key=f"{key}_q", placeholder="e.g. TF01 or a target name",
                          help="Shows edges whose regulator or target contains this text (not case-sensitive).")
    statuses = [s for s in ("true positive", "false positive", "missed (false negative)") if s in set(table["status"])]
    chosen = c2.multiselect("Show", statuses, default=[s for s in statuses if s != "missed (false negative)"],
                            key=f"{key}_status", disabled=truth is None,
                            help="True positive: learned and in the gold standard. False positive: learned, not in "
                                 "it. Missed: in the gold standard but not learned.") if truth is not None else None
    view = table
    if query.strip():
        q = query.strip().lower()
        view = view[view["regulator"].str.lower().str.contains(q, regex=False)
                    | view["target"].str.lower().str.contains(q, regex=False)]
    if chosen is not None:
        view = view[view["status"].isin(chosen)]
    c3.metric("Edges listed", f"{len(view):,}")
    cols = (["regulator", "target", "effect", "strength rank"] + (["confidence"] if has_conf else [])
            + (["status"] if truth is not None else []))
    st.dataframe(view[cols], hide_index=True, height=360, key=f"{key}_table",
                 column_config={"effect": st.column_config.NumberColumn(
                                    "effect", format="%.4f",
                                    help="Learned effect of the regulator on the target: positive = activation, "
                                         "negative = repression."),
                                "strength rank": st.column_config.NumberColumn(
                                    "strength rank", help="1 = the strongest edge (largest |effect|)."),
                                "confidence": st.column_config.ProgressColumn(
                                    "confidence", min_value=0.0, max_value=1.0, format="%.2f",
                                    help="Share of the seeds whose model at the same λ and pruning level keeps "
                                         "this edge.")})
    st.caption("Click a column title to sort. " + ("" if truth is not None else
               "With a gold standard loaded, each edge is marked true positive, false positive or missed."))
    st.markdown("**Top regulators** (by summed |effect| on their targets)")
    st.dataframe(top_regulators(edges, truth, k=15), hide_index=True, key=f"{key}_top")
