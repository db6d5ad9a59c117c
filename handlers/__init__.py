"""The HTTP edge: thin Flask blueprints that parse, call the domain once, and render."""
