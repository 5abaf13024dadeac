"""Renditions shown to anyone: privacy zones masked, people redacted, derivations recorded.

The interface the API, packages and demo use (see the helpers' interfaces):

* :func:`masked_segment` — vault id of the segment's masked MP4 (``<blob>.masked``);
* :func:`zoom_frame` — a masked, enlarged still, recorded as ``Zoomed``;
* :func:`masked_thumbnail` — the thumbnail with zones applied;
* :func:`redacted_extract` — an MP4 with everyone but designated people blurred.

Each derived rendition records ``Segment.RenditionDerived`` (docs/FORMATS.md).
"""

from ingest.rendition.masked import (
    Derivation,
    Zoom,
    masked_segment,
    masked_thumbnail,
    zoom_frame,
)
from ingest.rendition.redact import Designation, redacted_extract
from ingest.rendition.source import RenditionError

__all__ = [
    "Derivation",
    "Designation",
    "RenditionError",
    "Zoom",
    "masked_segment",
    "masked_thumbnail",
    "redacted_extract",
    "zoom_frame",
]
