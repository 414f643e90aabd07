"""dash_core: interpretable models of gene regulation and signaling from data and prior knowledge.

Modules (one concern each): ``io`` (readers, validation), ``data`` (Dataset),
``simulate`` (SIM350-style data), ``models`` (PHOENIX, MLP), ``integrate``
(batched ODE solves), ``pruning`` (DASH and baselines), ``train`` (the loop),
``experiment`` (one run end to end), ``metrics``, ``network``, ``pathways``,
``signaling`` (LEMBAS), ``runs`` (run store, jobs, executors), ``studies``
(sweeps, benchmarks), ``plots`` and ``cli``. Importing this package never
imports Streamlit.
"""

__version__ = "0.1.0"
