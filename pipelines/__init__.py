"""Ray Data stages wired together, the ``seqgpt`` CLI and the app's helpers.

- :mod:`pipelines.config` -- ``RunConfig`` / ``ModelConfig``: one typed run configuration,
  built once (CLI, job script, test) and read by every stage;
- :mod:`pipelines.options` -- the command-line options, declared once for ``seqgpt`` and
  ``jobs/*.py``;
- :mod:`pipelines.stages` -- read -> clean -> extract -> write (the writer owns the output row);
- :mod:`pipelines.run` -- ``run_pipeline(config)``: listing, recovery, the Ray Data plan, the
  summary;
- :mod:`pipelines.cli` -- ``seqgpt extract | compare | schema | run | eval | finetune | ui``;
- :mod:`pipelines.app_support` -- the Streamlit app's pure helpers (``app.py`` is the page).

Documents are read and cleaned by ``connectors.documents`` -- the same code for the CLI,
the app and the pipeline.
"""
