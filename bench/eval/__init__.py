"""Model evaluations: what the default model, its adapters, the policy and the rules achieve."""
