"""talon."""
