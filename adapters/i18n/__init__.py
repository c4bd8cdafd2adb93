"""Rendering the core's `Text` values in a reader's language (gettext catalogues via Babel)."""

from .renderer import Renderer

__all__ = ["Renderer"]
