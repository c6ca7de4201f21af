"""Versioned SQL migrations, applied in order by ``csvflow migrate``."""
