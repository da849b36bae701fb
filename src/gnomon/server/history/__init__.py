"""History: each run's mutable state and events; applies commands; one lock per run."""
