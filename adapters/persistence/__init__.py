"""SQLAlchemy 2.0 (async, Core) implementation of the core's repositories and unit of work."""
