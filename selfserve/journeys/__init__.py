"""journeys."""
