"""The PTQ-collapse suite (in progress): weight-only post-training quantizers and their checks."""
