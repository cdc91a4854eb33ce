"""The autonomous policy as one unit: the VLM that restates a command, writes subtasks, plans and action
entries, and answers scene questions; its parts; the rollout evaluation runs; and the shipped stack.

- `config.py`    `PolicyConfig` (frozen): what the active adapter reads (`PolicyInputs`, from its card) and
                 how the policy decodes
- `vlm.py`       `VLMPolicy(loaded, config)`: the paper's questions, each decoded under a grammar
- `restate.py`   the restater (a side adapter): a command in any language -> a canonical English instruction
- `grounding.py` the grounder: grounding lines (where the subtask's object is, from the gripper)
- `reader.py`    the scene reader (a side adapter) and the layout line it reads
- `locator.py`   the object locator: a small head on the vision tower's patch grid
- `servo.py`     a fixed servo rule on grounding lines (the grounded ceiling; the corrections' teacher)
- `rollout.py`   closed-loop rollouts on seeded sim tasks (evaluation, benchmarks)
- `service.py`   `ModelService`: the running model as the app uses it (adapters, chat answers, the policy)
- `shipped.py`   what ships in `assets/`, and the one place that loads it (`install_shipped`, `load_shipped`)
The loop that runs a policy, and the `Policy` contract, are in `core.control`. Import from the submodules;
this package imports nothing heavy. Glossary: docs/architecture.md.
"""

from core.policy.config import PolicyConfig, PolicyInputs

__all__ = ["PolicyConfig", "PolicyInputs"]
