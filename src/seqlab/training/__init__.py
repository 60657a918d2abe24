"""Training: fit loops, tasks (loss + metrics), optimisers and schedules, checkpoints."""
