"""Decoding: greedy, temperature, top-k and top-p sampling; beam search; KV cache."""
