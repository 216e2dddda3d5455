"""Pure statistics for local acceptance testing and monitoring (no Django)."""
