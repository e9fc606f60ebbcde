"""Text factory: token ids (B, L) padded with 0, with their lengths, to class scores.

Three architectures, the `arch` prior:

- `bag`: the mean of the tokens' embeddings (and, with `bigrams`, of hashed word pairs'),
  dropout, a linear head: a bag of n-grams, fast and strong on short texts (fastText's model).
- `rnn`: an embedding, a (bi)GRU or LSTM read to each text's length (packed), pooled over its
  tokens (last, mean or max), a linear head.
- `attention`: an embedding with learned positions, a small transformer encoder that masks the
  padding, attention pooling (a learned query weighs the tokens, as the course's
  `AttentionNLP` does), a linear head.

Config keys: arch, vocab_size (derived from the data), embed_dim, dropout; bag: bigrams;
rnn: cell, hidden_size, bidirectional, pooling; attention: heads, encoder_layers.
"""

from __future__ import annotations

import torch
from torch import nn

from tuner.models.layers import choose, pool_recurrent, run_recurrent, step_mask

ARCHS = ("bag", "rnn", "attention")
# hashed word pairs share twice as many embeddings as the vocabulary has words, within these
# bounds: every row is updated at every step (dense gradients), so the table stays small
MIN_BUCKETS, MAX_BUCKETS = 1 << 12, 1 << 16
CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


def _lengths(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if lengths is None:
        return (x != 0).sum(dim=1).clamp(min=1)
    return lengths.to(x.device).long().clamp(min=1, max=x.shape[1])


class BagOfNgrams(nn.Module):
    def __init__(self, vocab: int, dim: int, bigrams: bool, dropout: float, n_outputs: int):
        super().__init__()
        self.vocab, self.bigrams = vocab, bigrams
        self.buckets = min(MAX_BUCKETS, max(MIN_BUCKETS, 2 * vocab))
        rows = vocab + (self.buckets if bigrams else 0)
        self.embed = nn.EmbeddingBag(rows, dim, mode="mean", padding_idx=0)
        # fastText's initialization: small embeddings the first updates move at once (torch's
        # N(0, 1) takes thousands of steps of Adam's size to move)
        with torch.no_grad():
            self.embed.weight.uniform_(-1 / dim, 1 / dim)
            self.embed.weight[0] = 0
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        ids = x.long()
        if self.bigrams and ids.shape[1] > 1:
            a, b = ids[:, :-1], ids[:, 1:]
            pairs = (a * 1_000_003 + b) % self.buckets + self.vocab
            pairs = pairs.masked_fill((a == 0) | (b == 0), 0)  # a pair with padding: none
            ids = torch.cat([ids, pairs], dim=1)
        return self.head(self.dropout(self.embed(ids)))


class RecurrentText(nn.Module):
    def __init__(self, vocab: int, dim: int, cell: str, hidden: int, bidirectional: bool,
                 pooling: str, dropout: float, n_outputs: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = CELLS[cell](dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.pooling, self.hidden = pooling, hidden
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
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
    'embed_dim': 64, 'bigrams': True, 'dropout': 0.2}."""
    if len(input_shape) != 1:
        raise ValueError(f"factory 'text' takes token ids (L,), not inputs shaped "
                         f"{'×'.join(map(str, input_shape))}")
    vocab = int(config["vocab_size"])
    dim = int(config["embed_dim"])
    dropout = float(config.get("dropout", 0.0))
    arch = choose(config, "arch", ARCHS)
    if arch == "bag":
        return BagOfNgrams(vocab, dim, bool(config.get("bigrams", True)), dropout, n_outputs)
    if arch == "rnn":
        return RecurrentText(vocab, dim, choose(config, "cell", tuple(CELLS)),
                             int(config["hidden_size"]), bool(config.get("bidirectional")),
                             choose(config, "pooling", ("last", "mean", "max")), dropout,
                             n_outputs)
    heads = int(config.get("heads", 2))
    if dim % heads:
        from tuner.models import InfeasibleConfig

        raise InfeasibleConfig(f"embed_dim {dim} is not a multiple of heads {heads}")
    return AttentionText(vocab, dim, int(input_shape[0]), heads,
                         int(config.get("encoder_layers", 1)), dropout, n_outputs)
