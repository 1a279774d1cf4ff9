"""Published results each model reproduces: one module per model with `cases()`."""
