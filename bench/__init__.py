"""Benchmarks (each writes bench/results/<name>.json and prints one line) and the helpers they share.

- `bench/perf/`  performance of the app and its pipelines: loop rate, streaming, recording, verbalization,
                 model threads, a training job beside the loop
- `bench/eval/`  what the models, the policy and the rules achieve: scene VQA, retention, closed-loop success,
                 restatement, action and plan fit, the grounded ceiling, the locator, the expert, probes
- `common.py` (results, the app in a subprocess), `heldout.py` (held-out questions to an adapter),
  `phrases.py` (commands in six languages), `devices.py` (synthetic input)
Run them from the repository root after `bash scripts/setup.sh` (it installs the project, so
`python bench/perf/recording.py` imports it without path tricks). Scripts import helpers, never each other.
"""
