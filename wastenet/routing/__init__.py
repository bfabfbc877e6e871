"""Daily collection routing with intermediate unloading."""
