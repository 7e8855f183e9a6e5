"""Image sizing of a Qwen-VL processor, shared by training (``roma train``) and evaluation (``roma eval``)."""

from __future__ import annotations

from typing import Any

__all__ = ["set_pixel_range"]


def set_pixel_range(processor: Any, min_pixels: int | None = None, max_pixels: int | None = None) -> Any:
    """Make ``processor`` resize every image to between ``min_pixels`` and ``max_pixels`` pixels of area (the
    Qwen-VL processors' own ``smart_resize``, through ``image_processor.size``); None keeps the model's bound.
    Returns the processor."""
    if not (min_pixels or max_pixels):
        return processor
    size = dict(processor.image_processor.size)
    if min_pixels:
        size["shortest_edge"] = int(min_pixels)
    if max_pixels:
        size["longest_edge"] = int(max_pixels)
    if size["shortest_edge"] > size["longest_edge"]:
        raise ValueError(f"min_pixels ({size['shortest_edge']}) > max_pixels ({size['longest_edge']}).")
    processor.image_processor.size = size
    return processor
