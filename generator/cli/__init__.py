"""The hubgen command line: a thin typer layer over the pipeline."""
