"""Composition root and command line: wires settings, storage, bus and adapters."""
