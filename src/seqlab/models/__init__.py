"""Blocks plus heads: language models, classifiers, seq2seq, Transformers, forecasters."""
