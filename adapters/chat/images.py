"""A picture that goes with a card: a PNG, with a title and a description in words.

The title and the description are `Text`, rendered in the reader's language like every
other line of a card; the PNG itself carries numbers and names only. adapters/charts.py
draws them; chat platforms show them (Teams inline, as a data URI).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from core.messages import Text


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    title: Text
    alt: Text  # what the picture shows, for screen readers and clients without images

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")
