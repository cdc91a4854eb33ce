"""The layout line: the objects in view, in words, ordered left to right and near to far.

The default model's language model sees 16 pooled image tokens, which keep which 4 x 4 cell each block
is in, and a 270M model with a small LoRA did not learn to compare those cells ("which block is furthest
to the left?" stayed near chance through every vision build). The object locator (`core.policy.locator`)
reads each object's pixel off the same tower's patch grid to about a pixel; this line writes what it
found as two orderings, which the model reads with the question (`core.policy.reader`):

    Left to right: plate, green block, bowl, red block. Near to far: red block, plate, bowl, green block.

Left and right are the image's: the front camera looks over the robot's shoulder, so image left is the
robot's left. Near is the bottom of the image, the robot's side of the table. The gripper is left out
(it is not one of the scene's objects). Pure text, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping


def layout_text(places: Mapping[str, tuple[float, float]]) -> str | None:
    """`places`: object name -> its (u, v) pixel in the image, for the objects in view. None: nothing in view."""
    names = [n for n in places if n != "gripper"]
    if not names:
        return None
    across = sorted(names, key=lambda n: (places[n][0], n))
    depth = sorted(names, key=lambda n: (-places[n][1], n))
    return f"Left to right: {', '.join(across)}. Near to far: {', '.join(depth)}."


def with_layout(question: str, layout: str | None) -> str:
    """The question as the model reads it: the layout line first (when there is one), then the question."""
    return f"{layout}\n{question}" if layout else question


__all__ = ["layout_text", "with_layout"]
