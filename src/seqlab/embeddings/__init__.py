"""Word embeddings trained in seqlab: Word2Vec, GloVe and FastText; lookup, file formats, evaluation.

Example:
    >>> from seqlab.embeddings import Word2VecConfig, train_word2vec
    >>> config = Word2VecConfig(vector_size=8, min_count=1, sample=0)  # sample=0: a tiny corpus keeps every word
    >>> result = train_word2vec([["a", "b", "c", "a", "b"]] * 20, config)
    >>> result.pairs > 0 and result.vectors.most_similar("a", topn=1)[0][0] in {"b", "c"}
    True
"""

from seqlab.embeddings.corpus import Vocabulary, build_vocabulary, read_corpus, tokenize_words
from seqlab.embeddings.evaluation import (
    AnalogyResult,
    SimilarityResult,
    evaluate_analogies,
    evaluate_word_pairs,
    spearman,
)
from seqlab.embeddings.fasttext import FastTextConfig, FastTextVectors, char_ngrams, ft_hash, train_fasttext
from seqlab.embeddings.formats import FORMATS, load_vectors, save_vectors
from seqlab.embeddings.glove import GloVeConfig, cooccurrence, train_glove
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.pretrained import Coverage, embedding_matrix, pretrained_embedding
from seqlab.embeddings.word2vec import EmbeddingResult, Word2VecConfig, train_word2vec

__all__ = [
    "FORMATS",
    "AnalogyResult",
    "Coverage",
    "EmbeddingResult",
    "FastTextConfig",
    "FastTextVectors",
    "GloVeConfig",
    "KeyedVectors",
    "SimilarityResult",
    "Vocabulary",
    "Word2VecConfig",
    "build_vocabulary",
    "char_ngrams",
    "cooccurrence",
    "embedding_matrix",
    "evaluate_analogies",
    "evaluate_word_pairs",
    "ft_hash",
    "load_vectors",
    "pretrained_embedding",
    "read_corpus",
    "save_vectors",
    "spearman",
    "tokenize_words",
    "train_fasttext",
    "train_glove",
    "train_word2vec",
]
