"""Pure logic behind every adapter (magics, CLI, server): no IPython, no HTTP in here."""
