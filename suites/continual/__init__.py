"""The class-incremental continual-learning suite (in progress): its accuracy-matrix metrics so far."""
