"""Text factory: token ids (B, L) padded with 0, with their lengths, to class scores.

Three architectures, the `arch` prior:

- `bag`: TF-IDF weights of the words (and, with `bigrams`, of hashed word pairs) mapped
  straight to class scores: logistic regression on a bag of n-grams, fast and, below ~100 000
  texts, as strong as anything trained from scratch (Zhang, Zhao & LeCun 2015; Wang & Manning
  2012).
- `rnn`: an embedding, a (bi)GRU or LSTM read to each text's length (packed), pooled over its
  tokens (last, mean or max), a linear head.
- `attention`: an embedding with learned positions, a small transformer encoder that masks the
  padding, attention pooling (a learned query weighs the tokens, as the course's
  `AttentionNLP` does), a linear head.

Config keys: arch, vocab_size (derived from the data), dropout; bag: bigrams; rnn and
attention: embed_dim, tokens (the first tokens of a text they read, derived from the data);
rnn: cell, hidden_size, bidirectional, pooling; attention: heads, encoder_layers.
"""

from __future__ import annotations

import torch
from torch import nn

from tuner.models.layers import (
    FitsTrainingRows,
    choose,
    pool_recurrent,
    run_recurrent,
    step_mask,
)

ARCHS = ("bag", "rnn", "attention")
# hashed word pairs get 8 rows per word of the vocabulary (5 000 snippets hold ~60 000 distinct
# pairs), within these bounds: every row is updated at every step (dense gradients)
MIN_BUCKETS, MAX_BUCKETS = 1 << 14, 1 << 18
CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}
CHUNK = 4096  # texts counted at a time when fitting the inverse document frequencies


def _lengths(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Each text's tokens in x (x may be a text's first tokens: lengths are cut to it)."""
    if lengths is None:
        return (x != 0).sum(dim=1).clamp(min=1)
    return lengths.to(x.device).long().clamp(min=1, max=x.shape[1])


def bigram_buckets(vocab: int) -> int:
    return min(MAX_BUCKETS, max(MIN_BUCKETS, 1 << (8 * vocab - 1).bit_length()))


def _sorted_runs(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row: the ids sorted, the order that sorts them, and where each run of equal ids
    (one distinct n-gram of a text and its repeats) starts."""
    ids, order = torch.sort(ids, dim=1)
    starts = torch.ones_like(ids, dtype=torch.bool)
    starts[:, 1:] = ids[:, 1:] != ids[:, :-1]
    return ids, order, starts


def _unit_norms(ids: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Each row's L2 norm of its distinct n-grams' weights (the weights of repeats added)."""
    _, order, starts = _sorted_runs(ids)
    runs = torch.cumsum(starts.long(), dim=1) - 1
    sums = torch.zeros_like(w).scatter_add_(1, runs, torch.gather(w, 1, order))
    return sums.pow(2).sum(dim=1, keepdim=True).sqrt().clamp(min=1e-12)


class BagOfNgrams(FitsTrainingRows, nn.Module):
    """A TF-IDF-weighted bag of words (and hashed word pairs) mapped straight to class scores:
    the logistic regression on TF-IDF n-grams that text classification is measured against,
    trained by the searched optimizer like the other families.

    A text's n-gram weights are its counts times their inverse document frequency in the
    training texts (scikit-learn's smooth IDF: log((1 + n) / (1 + df)) + 1, fitted by
    `fit_rows`; an n-gram no training text holds weighs 0), scaled to unit length, so that a
    review and a snippet share one scale and "the" weighs less than "unwatchable". Dropout
    drops whole n-grams from a training text.
    """

    def __init__(self, vocab: int, bigrams: bool, dropout: float, n_outputs: int):
        super().__init__()
        self.vocab = vocab
        self.buckets = bigram_buckets(vocab) if bigrams else 0
        rows = vocab + self.buckets
        self.embed = nn.EmbeddingBag(rows, n_outputs, mode="sum", padding_idx=0)
        nn.init.zeros_(self.embed.weight)  # a linear model: zero is as good a start as any
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.dropout = dropout
        idf = torch.ones(rows)
        idf[0] = 0.0
        self.register_buffer("idf", idf)

    def ngrams(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids, then their word pairs' bucket ids (0 for a pair with padding)."""
        ids = x.long()
        if not self.buckets or ids.shape[1] < 2:
            return ids
        a, b = ids[:, :-1], ids[:, 1:]
        pairs = (a * 1_000_003 + b) % self.buckets + self.vocab
        return torch.cat([ids, pairs.masked_fill((a == 0) | (b == 0), 0)], dim=1)

    @torch.no_grad()
    def fit_rows(self, x: torch.Tensor, lengths: torch.Tensor | None) -> None:
        df = torch.zeros(len(self.idf), device=self.idf.device)
        for i in range(0, len(x), CHUNK):
            ids, _, starts = _sorted_runs(self.ngrams(x[i:i + CHUNK].to(self.idf.device)))
            df += torch.bincount(ids[starts], minlength=len(df)).float()
        idf = torch.log((1.0 + len(x)) / (1.0 + df)) + 1.0
        idf[df == 0] = 0.0  # never seen in training: left out, as a fitted vocabulary leaves it
        idf[0] = 0.0
        self.idf.copy_(idf)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        ids = self.ngrams(x)
        w = self.idf[ids]
        if self.training and self.dropout:
            w = nn.functional.dropout(w, self.dropout)
        return self.embed(ids, per_sample_weights=w / _unit_norms(ids, w)) + self.bias


class RecurrentText(nn.Module):
    def __init__(self, vocab: int, dim: int, tokens: int, cell: str, hidden: int,
                 bidirectional: bool, pooling: str, dropout: float, n_outputs: int):
        super().__init__()
        self.tokens = tokens
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = CELLS[cell](dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.pooling, self.hidden = pooling, hidden
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = x[:, :self.tokens]
        lengths = _lengths(x, lengths)
        out = run_recurrent(self.rnn, self.dropout(self.embed(x.long())), lengths)
        return self.head(self.dropout(pool_recurrent(out, lengths, self.rnn, self.pooling)))


class AttentionText(nn.Module):
    def __init__(self, vocab: int, dim: int, length: int, heads: int, layers: int,
                 dropout: float, n_outputs: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(1, length, dim))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.query = nn.Linear(dim, 1)  # attention pooling: a score per token
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        steps = min(x.shape[1], self.position.shape[1])
        x = x[:, :steps]
        mask = step_mask(_lengths(x, lengths).clamp(max=steps), steps)
        h = self.embed(x.long()) + self.position[:, :steps]
        h = self.encoder(h, src_key_padding_mask=~mask)
        scores = self.query(h).squeeze(-1).masked_fill(~mask, float("-inf"))
        pooled = (torch.softmax(scores, dim=1).unsqueeze(-1) * h).sum(dim=1)
        return self.head(self.dropout(pooled))


def build(config: dict, input_shape: tuple, n_outputs: int) -> nn.Module:
    """A text classifier for token ids (L,); config e.g. {'arch': 'bag', 'vocab_size': 20000,
    'bigrams': True, 'dropout': 0.2}."""
    if len(input_shape) != 1:
        raise ValueError(f"factory 'text' takes token ids (L,), not inputs shaped "
                         f"{'×'.join(map(str, input_shape))}")
    vocab = int(config["vocab_size"])
    dropout = float(config.get("dropout", 0.0))
    arch = choose(config, "arch", ARCHS)
    if arch == "bag":
        return BagOfNgrams(vocab, bool(config.get("bigrams", True)), dropout, n_outputs)
    dim = int(config["embed_dim"])
    tokens = max(1, min(int(config.get("tokens", input_shape[0])), int(input_shape[0])))
    if arch == "rnn":
        return RecurrentText(vocab, dim, tokens, choose(config, "cell", tuple(CELLS)),
                             int(config["hidden_size"]), bool(config.get("bidirectional")),
                             choose(config, "pooling", ("last", "mean", "max")), dropout,
                             n_outputs)
    heads = int(config.get("heads", 2))
    if dim % heads:
        from tuner.models import InfeasibleConfig

        raise InfeasibleConfig(f"embed_dim {dim} is not a multiple of heads {heads}")
    return AttentionText(vocab, dim, tokens, heads,
                         int(config.get("encoder_layers", 1)), dropout, n_outputs)
