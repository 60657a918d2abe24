"""Decoding: greedy, temperature, top-k and top-p sampling, beam search, and the text-level helpers.

``generate(model, prompt, max_new_tokens, ...)`` continues a prefix with any autoregressive model
of ``seqlab.models``; ``DecodingConfig`` validates the strategy; ``generate_text`` and
``translate_texts`` go from strings to strings through a model's tokenizers.
"""

from seqlab.generation.beam import Hypothesis, beam_search
from seqlab.generation.config import DecodingConfig
from seqlab.generation.decode import Autoregressive, decode, map_state, strip
from seqlab.generation.generate import MAX_NEW_TOKENS, GenerationMixin, generate
from seqlab.generation.sampling import filter_logits, sample_next
from seqlab.generation.text import generate_text, translate_texts

__all__ = ["MAX_NEW_TOKENS", "Autoregressive", "DecodingConfig", "GenerationMixin", "Hypothesis", "beam_search",
           "decode", "filter_logits", "generate", "generate_text", "map_state", "sample_next", "strip",
           "translate_texts"]
