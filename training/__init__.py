"""Training and data tooling around the engine: not needed to run extraction.

- ``training.datasets``: labelled data in the span format (MSRA, WNUT-16, JSONL files);
- ``training.evaluate``: precision/recall/F1 of an ``Extractor`` on such data (``seqgpt eval``);
- ``training.docgen``: generated business documents with gold spans, records and classes;
- ``training.finetune``: LoRA fine-tuning into the SeqGPT format (``seqgpt finetune``).

``training`` imports ``extractor``; ``extractor`` never imports ``training``.
"""
