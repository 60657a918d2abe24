"""Raw text to ids: normalizers, pre-tokenizers, tokenizer models and the Tokenizer pipeline.

The pipeline (``Tokenizer``) is normalizer -> pre-tokenizer -> model -> post-processor -> decoder, in the
shape of Hugging Face ``tokenizers``, and saves to and loads from its ``tokenizer.json``. The stages
live in ``normalizers``, ``pre_tokenizers``, ``models``, ``processors`` and ``decoders``; the trainers in
``trainers``; the BPE training loop in ``merges``. Models: byte-level or character BPE, WordPiece,
word- and character-level, Unigram.
"""

from seqlab.text.characters import CharacterVocabulary
from seqlab.text.encoding import Encoding
from seqlab.text.models import BPE, Unigram, WordLevel, WordPiece
from seqlab.text.tokenizer import AddedToken, Tokenizer
from seqlab.text.trainers import SPECIAL_TOKENS, BpeTrainer, UnigramTrainer, WordLevelTrainer, WordPieceTrainer

__all__ = [
    "BPE",
    "SPECIAL_TOKENS",
    "AddedToken",
    "BpeTrainer",
    "CharacterVocabulary",
    "Encoding",
    "Tokenizer",
    "Unigram",
    "UnigramTrainer",
    "WordLevel",
    "WordLevelTrainer",
    "WordPiece",
    "WordPieceTrainer",
]
