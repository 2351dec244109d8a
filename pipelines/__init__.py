"""The Ray Data pipeline: read -> parse -> clean -> extract -> write, and nothing else.

- :mod:`pipelines.config` -- ``RunConfig`` / ``ModelConfig``: one typed run configuration,
  built once (CLI, job script, test) and read by every stage;
- :mod:`pipelines.stages` -- read -> clean -> extract -> write (the writer owns the output row);
- :mod:`pipelines.run` -- ``run_pipeline(config)``: listing, recovery, the Ray Data plan, the
  summary;
- :mod:`pipelines.review` -- the standalone HTML review page (``--html-report``, ``--format html``).

The front-ends that drive it (the ``seqgpt`` CLI and its options, ``seqgpt serve``, the app's
helpers) live in the :mod:`seqgpt` package; ``pipelines`` imports neither ``seqgpt`` nor
``training``.  Documents are read and cleaned by ``connectors.documents`` -- the same code for
the CLI, the app and the pipeline.
"""
