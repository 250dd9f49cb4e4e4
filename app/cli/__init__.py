"""The headless command-line interface (no Qt): see app.cli.main."""
