# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 16 · BERT: masked-language pre-training, then fine-tuning
#
# Data: `sentence_polarity`, which ships with seqlab.
#
# BERT (Devlin, Chang, Lee & Toutanova 2019, *BERT: pre-training of deep bidirectional
# transformers for language understanding*, NAACL) is a Transformer encoder pre-trained without
# labels. 15% of the tokens are chosen; of those 80% become `[MASK]`, 10% a random token, 10% stay;
# the model predicts the original token at every chosen position:
#
# $$\mathcal{L}_{\text{MLM}} = -\sum_{t \in \text{chosen}} \log p(x_t \mid \tilde x), \qquad
#   p(\cdot \mid \tilde x) = \mathrm{softmax}\big(\mathrm{LN}(\mathrm{GELU}(W_t h_t))\, E_{\text{tok}}^\top + b\big).$$
#
# Fine-tuning then puts a classifier on the pooled `[CLS]` state, $\mathrm{softmax}(W_c \tanh(W_p
# h_{[CLS]}))$, and trains everything on the labelled task. We pre-train a small BERT on the
# movie-review sentences (their text only), fine-tune it on their labels, and compare with the
# same model fine-tuned from random weights.

# %%
import random

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from seqlab.data.batching import pad_sequences
from seqlab.data.loaders import load_sentence_polarity
from seqlab.models.bert import IGNORE, BertConfig, BertForPreTraining, BertForSequenceClassification, mask_tokens
from seqlab.text import Tokenizer, WordPieceTrainer
from seqlab.tutorials import need_datasets, pick, save_figure

need_datasets("sentence_polarity")  # stops here with the command to run if one is missing

torch.manual_seed(0)

# %% [markdown]
# ## The 80/10/10 corruption, by hand
#
# With the same random generator, the three draws of `mask_tokens` (choose, decide the fate,
# the random replacement) written out must give the same inputs and labels.

# %%
ids = torch.randint(5, 100, (64, 32))
special = (0, 2, 3)  # [PAD], [CLS], [SEP] are never chosen
ids[:, 0] = 2
inputs, labels = mask_tokens(ids, 100, mask_id=4, special_ids=special, generator=torch.Generator().manual_seed(7))
generator = torch.Generator().manual_seed(7)
maskable = ~torch.isin(ids, torch.tensor(special))
chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & maskable
rule = torch.rand(ids.shape, generator=generator)
random_ids = torch.randint(100, ids.shape, generator=generator)
by_hand = torch.where(chosen & (rule < 0.8), 4, torch.where(chosen & (rule >= 0.8) & (rule < 0.9), random_ids, ids))
assert torch.equal(inputs, by_hand) and torch.equal(labels, torch.where(chosen, ids, IGNORE))
shares = (chosen.float().mean().item(), (inputs[chosen] == 4).float().mean().item(),
          (inputs[chosen] == ids[chosen]).float().mean().item())
print(f"by hand = mask_tokens; chosen {shares[0]:.1%} of tokens, of which [MASK] {shares[1]:.0%}, "
      f"unchanged {shares[2]:.0%} (10% kept + random draws that hit the same id)")

# %% [markdown]
# ## Pre-training on the review sentences

# %%
texts, labels_all = load_sentence_polarity()
order = list(range(len(texts)))
random.Random(0).shuffle(order)
order = order[: pick(fast=800, full=len(order))]
cut = int(0.9 * len(order))
train_idx, test_idx = order[:cut], order[cut:]
tokenizer = Tokenizer.wordpiece()
tokenizer.train_from_iterator([texts[i] for i in train_idx], WordPieceTrainer(vocab_size=pick(fast=800, full=8000)))
PAD, CLS, SEP, MASK = (tokenizer.token_to_id(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]"))
max_len = pick(fast=24, full=64)


def batch_of(indices):
    rows = [torch.tensor([CLS, *tokenizer.encode(texts[i], add_special_tokens=False).ids[: max_len - 2], SEP])
            for i in indices]
    padded, lengths, is_pad = pad_sequences(rows, PAD)
    return padded, lengths, ~is_pad


config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=pick(fast=32, full=128),
                    num_hidden_layers=pick(fast=1, full=4), num_attention_heads=4,
                    intermediate_size=pick(fast=64, full=512), max_position_embeddings=max_len,
                    dropout=pick(fast=0.0, full=0.1))
pretrained = BertForPreTraining(config, next_sentence=False)
optimizer = torch.optim.AdamW(pretrained.parameters(), lr=1e-3)
rng = random.Random(1)
generator = torch.Generator().manual_seed(1)
mlm_losses = []
for _ in range(pick(fast=15, full=3000)):
    padded, lengths, is_real = batch_of(rng.sample(train_idx, 32))
    corrupted, targets = mask_tokens(padded, config.vocab_size, MASK, special_ids=(PAD, CLS, SEP),
                                     is_real=is_real, generator=generator)
    loss = pretrained.loss(corrupted, targets, lengths)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    mlm_losses.append(loss.item())


@torch.no_grad()
def mlm_accuracy(model):
    model.eval()
    padded, lengths, is_real = batch_of(test_idx)
    corrupted, targets = mask_tokens(padded, config.vocab_size, MASK, special_ids=(PAD, CLS, SEP), is_real=is_real,
                                     generator=torch.Generator().manual_seed(99))
    logits, _ = model(corrupted, lengths)
    chosen = targets != IGNORE
    model.train()
    return (logits.argmax(-1)[chosen] == targets[chosen]).float().mean().item()


untrained_mlm = mlm_accuracy(BertForPreTraining(config, next_sentence=False))
trained_mlm = mlm_accuracy(pretrained)
print(f"MLM loss {mlm_losses[0]:.2f} -> {mlm_losses[-1]:.2f}; held-out masked-token accuracy "
      f"{untrained_mlm:.1%} untrained, {trained_mlm:.1%} pre-trained")

# %% [markdown]
# ## Fine-tuning: pre-trained against random initialisation

# %%
def fine_tune(start_from):
    torch.manual_seed(0)
    classifier = BertForSequenceClassification(config, num_labels=2)
    if start_from is not None:
        classifier.bert.load_state_dict(start_from.bert.state_dict())  # the encoder carries over
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=5e-4)
    rng = random.Random(2)
    for _ in range(pick(fast=10, full=1500)):
        chosen = rng.sample(train_idx, 32)
        padded, lengths, _ = batch_of(chosen)
        loss = F.cross_entropy(classifier(padded, lengths), torch.tensor([labels_all[i] for i in chosen]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    classifier.eval()
    with torch.no_grad():
        padded, lengths, _ = batch_of(test_idx)
        predicted = classifier(padded, lengths).argmax(-1)
    return (predicted == torch.tensor([labels_all[i] for i in test_idx])).float().mean().item()


accuracy = {"from random weights": fine_tune(None), "pre-trained (MLM)": fine_tune(pretrained)}
for label, value in accuracy.items():
    print(f"fine-tuned {label:20s} held-out accuracy {value:.3f}")

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(mlm_losses)
left.set_xlabel("step")
left.set_ylabel("masked-LM loss")
left.set_title("pre-training on the review sentences")
right.bar(list(accuracy), list(accuracy.values()))
right.set_ylim(0, 1)
right.set_ylabel("held-out accuracy")
right.set_title("fine-tuned on sentiment labels")
save_figure(figure, "16_bert")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* mask_tokens equals the 80/10/10 rule written out with the same generator; it chose {shares[0]:.1%} of the tokens.
* A {sum(p.numel() for p in pretrained.parameters()):,}-parameter BERT pre-trained for {len(mlm_losses)} steps: MLM loss
  {mlm_losses[0]:.2f} -> {mlm_losses[-1]:.2f}, held-out masked-token accuracy {untrained_mlm:.1%} -> {trained_mlm:.1%}.
* Fine-tuned on {len(train_idx):,} labelled sentences, tested on {len(test_idx):,}:
  {", ".join(f"{k} {v:.3f}" for k, v in accuracy.items())}.
""")
