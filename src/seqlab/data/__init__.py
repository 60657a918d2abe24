"""From ids to batches: datasets, collation, samplers, and the bundled and shared corpora."""
