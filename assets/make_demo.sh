#!/bin/sh
# Regenerate the demo dataset bundled with the app (assets/demo/): expression, test set, prior,
# gold standard (truth), PPI-like co-regulation table, gene_sets.gmt and the simulation settings.
# The files are exactly those of dash_core.simulate.SimulationConfig.demo() (seed 0);
# tests/test_app_pages.py checks that they still match the simulator.
set -e
cd "$(dirname "$0")/.."
python -m dash_core simulate --preset demo --out assets/demo
