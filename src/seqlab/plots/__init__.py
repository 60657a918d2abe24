"""matplotlib figures (Agg backend, no pyplot) from histories and diagnostics, written as PNG."""
