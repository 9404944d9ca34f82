"""Validation: schema first, then semantic checks, across one or many environments."""
