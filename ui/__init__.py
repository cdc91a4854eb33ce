"""The Gradio page and the FastAPI routes beside it: widgets wired to `core` calls, nothing more."""
