"""Reviewing recorded episodes (the Episodes tab's logic): filters, table rows, plot data, the
language timeline aligned with the video, corrections saved as new verbalization versions, LeRobot
export of a selection, and replay-as-language of a stored episode on a separate simulator.

UI code calls these functions and shows `ReviewError` messages as they are.
"""

from core.review.errors import ReviewError
from core.review.timeline import TimelineChunk, TimelineSubtask, build_timeline, seek_time

__all__ = ["ReviewError", "TimelineChunk", "TimelineSubtask", "build_timeline", "seek_time"]
