"""Reading spec files: the strict, position-tracking YAML loader."""

from generator.loader.yaml_loader import MAX_DEPTH, MAX_SPEC_BYTES, Loaded, load_yaml_file, load_yaml_text

__all__ = ["MAX_DEPTH", "MAX_SPEC_BYTES", "Loaded", "load_yaml_file", "load_yaml_text"]
