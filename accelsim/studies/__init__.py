"""Paper studies: one module per study with `run(quick)` and `plot(frames, outdir)`."""
