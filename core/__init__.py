"""VLM2VLA Studio: the application core (no Gradio). Map of the packages: docs/architecture.md."""
