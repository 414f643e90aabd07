"""Studies: many runs handed to an executor, collected in one results table (methods B.8, F.1, J).

A study is a list of independent runs (:class:`dash_core.runs.executors.Job`)
handed to :func:`dash_core.runs.executors.run_jobs`. Every run is one
:func:`dash_core.experiment.run_experiment` call made by the module-level job
function :func:`dash_core.studies.table.run_point`, which loads the data from
files (a :class:`~dash_core.studies.datasets.DatasetSpec`), trains, writes the run
folder with :func:`~dash_core.experiment.save_run` and returns one flat row of
numbers.

Modules (import from them directly; this package re-exports nothing):

=====================  =========================================================================
``datasets``           :class:`DatasetSpec`: where a study's data comes from (files or a simulation)
``inputs``             checking the lists a study is given: lambda grids, seeds, strategies, percents
``table``              one run's row (:func:`run_point`, :func:`point_key`), the resumable results
                       table, the study folder's ``study.json``, running a list of jobs
``sweeps``             lambda grid sweeps (methods B.8): :func:`run_sweep`, :func:`pivot_sweep`
``selection``          choosing a model by validation alone along the runs' pruning paths
                       (:func:`recommend`, :func:`finalize_sweep`), Pareto front, edge confidence
``paper_benchmark``    the paper's benchmark (methods F.1, E.4, E.5): conditions, data, runs,
                       mean ± sd summary next to the paper's values
``asha``               adaptive lambda search with Ray Tune's ASHA scheduler (optional Ray)
=====================  =========================================================================

Results table and resuming
--------------------------
Each finished run becomes a row of the study's results table
(``DIR/sweep.csv`` or ``DIR/benchmark.csv``), written to disk as soon as the run
finishes, so that an interrupted study resumes where it stopped: keys whose row
has ``status == "ok"`` are not run again; failed runs are stored with
``status == "failed"`` and their error, and are retried on the next invocation.
``DIR/study.json`` records the settings of the study; resuming into a folder
made with other settings (another dataset, model or training options) is
refused, because the old rows would not be comparable.

Layout of ``DIR``::

    study.json            settings of the study
    sweep.csv             (sweep) one row per strategy x lambda point x seed
    benchmark.csv         (benchmark) one row per condition x strategy x seed
    summary.csv / .md     (benchmark) mean +- sd over seeds, next to the paper's values
    runs/<key>/           metrics.json, edges.csv, history.csv, config.json, model.pt
    data/<condition>/seed<k>/   (benchmark presets) the simulated data of each seed

Gene-level matrices in the run folders follow the package convention: row =
regulator, column = target.
"""
