"""The robot's conversation: one shared, thread-safe log that every viewer of the page sees.

A lab has one robot, so chat and actions are one conversation (an instructor's screen, a visitor's
phone and the operator's laptop show the same turns). Messages are role/content dicts (what gr.Chatbot
takes) plus metadata: which path answered, the precision, timings.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from core.language.understand import looks_like_question
from core.store.text import strip_controls

MAX_MESSAGES = 500
__all__ = ["Conversation", "Message", "looks_like_question"]

@dataclass
class Message:
    role: str  # "user" | "assistant"
    content: str
    meta: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=time.time)


class Conversation:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Message] = []
        self.version = 0

    def add(self, role: str, content: str, **meta: Any) -> int:
        if role not in ("user", "assistant"):
            raise ValueError(f"role must be user or assistant, not {role!r}")
        if role == "user":  # typed by anyone signed in, shown to every viewer: no control or bidi characters
            content = strip_controls(content)
        with self._lock:
            self._messages.append(Message(role, content, dict(meta)))
            del self._messages[:-MAX_MESSAGES]
            self.version += 1
            return len(self._messages) - 1

    def update(self, index: int, content: str, **meta: Any) -> None:
        """Replace the content of message `index` (streaming answers grow in place)."""
        with self._lock:
            if not 0 <= index < len(self._messages):
                return  # trimmed away meanwhile
            m = self._messages[index]
            if m.content == content and all(m.meta.get(k) == v for k, v in meta.items()):
                return  # nothing new: the version (which viewers compare) stays
            m.content = content
            m.meta.update(meta)
            self.version += 1

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self.version += 1

    def messages(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"role": m.role, "content": m.content} for m in self._messages]

    def history(self, limit: int = 6) -> list[dict[str, str]]:
        """The last turns, for the model's context."""
        return self.messages()[-limit:]
