"""The ``notsofar`` command line (Typer). One small module per command."""
