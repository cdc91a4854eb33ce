"""The actions-as-rare-tokens baseline (the paper's VLM2VLA-AT ablation), for the forgetting comparison.

OpenVLA-style: every number of an action entry is discretised into `n_bins` uniform bins and each bin
is written as one existing, rarely used token of the vocabulary (the last `n_bins` ids of the base
vocabulary that are not special tokens). An entry `[dx, dy, dz, gripper(, yaw)]` becomes 4 (5) tokens:
dx/dy/dz over +-`max_cm`, the gripper as the first or last bin, yaw over +-`max_deg`. Answers are
spliced in as token ids (never through text), so the mapping is exact for any tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from core.language.spec import AXIS_CUT_CM, YAW_CUT_DEG, Chunk, quantize
from core.training.errors import DataError


class ActionTokenError(ValueError):
    """Generated ids that do not form whole action entries of the codec."""


@dataclass(frozen=True)
class ActionTokenCodec:
    token_ids: tuple[int, ...]
    max_cm: float = AXIS_CUT_CM
    max_deg: float = YAW_CUT_DEG
    yaw: bool = False

    @property
    def n_bins(self) -> int:
        return len(self.token_ids)

    @property
    def per_entry(self) -> int:
        return 5 if self.yaw else 4

    @classmethod
    def for_tokenizer(cls, tokenizer, n_bins: int = 256, *, yaw: bool = False) -> ActionTokenCodec:  # noqa: ANN001
        """The last `n_bins` non-special ids of the tokenizer's base vocabulary."""
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        special |= set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
        vocab = int(tokenizer.vocab_size)
        ids: list[int] = []
        for i in range(vocab - 1, -1, -1):
            if i not in special:
                ids.append(i)
                if len(ids) == n_bins:
                    break
        if len(ids) < n_bins:
            raise DataError(f"the vocabulary has only {len(ids)} non-special tokens; the action-token "
                            f"baseline needs {n_bins}")
        return cls(tuple(sorted(ids)), yaw=yaw)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["token_ids"] = list(self.token_ids)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> ActionTokenCodec:
        return cls(tuple(int(i) for i in data["token_ids"]), float(data["max_cm"]), float(data["max_deg"]),
                   bool(data.get("yaw", False)))

    # ---- values <-> bins ----------------------------------------------------------------------------
    def _bin(self, value: float, limit: float) -> int:
        v = min(max(value, -limit), limit)
        return round((v + limit) / (2 * limit) * (self.n_bins - 1))

    def _value(self, b: int, limit: float) -> float:
        return quantize(b / (self.n_bins - 1) * 2 * limit - limit)

    def encode(self, chunks: Sequence[Chunk]) -> list[int]:
        """Token ids of the entries (values beyond the range are clamped to it)."""
        out: list[int] = []
        last = self.n_bins - 1
        for c in chunks:
            bins = [self._bin(c.dx, self.max_cm), self._bin(c.dy, self.max_cm), self._bin(c.dz, self.max_cm),
                    last if c.gripper else 0]
            if self.yaw:
                bins.append(self._bin(c.yaw or 0.0, self.max_deg))
            out.extend(self.token_ids[b] for b in bins)
        return out

    def decode(self, ids: Sequence[int]) -> list[Chunk]:
        """Entries from generated ids; raises `ActionTokenError` for foreign ids or a partial entry."""
        index = {t: b for b, t in enumerate(self.token_ids)}
        bins = []
        for pos, i in enumerate(ids):
            if i not in index:
                raise ActionTokenError(f"token id {i} at position {pos} is not an action token")
            bins.append(index[i])
        if not bins or len(bins) % self.per_entry:
            raise ActionTokenError(f"{len(bins)} action tokens do not form whole entries of {self.per_entry}")
        out = []
        for k in range(0, len(bins), self.per_entry):
            b = bins[k : k + self.per_entry]
            yaw = self._value(b[4], self.max_deg) if self.yaw else None
            out.append(Chunk(self._value(b[0], self.max_cm), self._value(b[1], self.max_cm),
                             self._value(b[2], self.max_cm), 1 if b[3] >= self.n_bins // 2 else 0, yaw))
        return out
