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
# # 20 · Pre-train, then fine-tune: BERT and GPT on one CPU
#
# Data: needs `SEQLAB_DATA_DIR` (`gutenberg/`, `timemachine/`, `sentence_polarity/`).
#
# The lesson of BERT (Devlin, Chang, Lee & Toutanova 2019) and GPT (Radford et al. 2018): train a
# Transformer on plenty of unlabelled text first, then start the labelled task from its weights.
# BERT's pre-training objective is the masked-language model: choose 15% of the tokens (never
# `[CLS]`, `[SEP]` or padding), replace 80% of the chosen by `[MASK]`, 10% by a random token, keep
# 10%, and predict the original at the chosen positions $C$ only:
#
# $$\mathcal{L}_{\text{MLM}} = -\frac{1}{|C|}\sum_{t \in C} \log p(x_t \mid \tilde x).$$
#
# So of the maskable tokens an input shows `[MASK]` with probability $0.15 \cdot 0.8 = 0.12$, a
# random token with $0.15 \cdot 0.1 = 0.015$ (which may hit the original), and the label is set
# with probability $0.15$. RoBERTa (Liu et al. 2019) draws the masks anew for every batch
# (dynamic masking) and drops BERT's next-sentence task; seqlab's `mlm` recipe does the same by
# default (`data.pair_task=nsp` or `sop` adds a pair task).
#
# Here: `seqlab train mlm` on the Gutenberg texts, its guesses at `[MASK]`, then `seqlab train
# sentiment model.pretrained=RUN` against the same BERT from scratch; and a GPT pre-trained on
# Gutenberg, continued on Tiny Shakespeare against the same GPT from random weights.

# %%
import math
from collections import Counter
from pathlib import Path
from tempfile import mkdtemp

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from seqlab.data.batching import IGNORE_INDEX
from seqlab.data.masking import mask_tokens
from seqlab.diagnostics.pretraining import PretrainingExperimentConfig, run_pretraining_experiment
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import load_run, train
from seqlab.training.tasks import recipe
from seqlab.tutorials import fast, pick, save_figure

torch.manual_seed(0)
runs = Path(mkdtemp(prefix="seqlab-tutorial-20-"))

# %% [markdown]
# ## The 80/10/10 statistics, by hand
#
# Over many draws the shares of `mask_tokens` must approach the derivation above. With $n$ maskable
# tokens a share $p$ is estimated with standard error $\sqrt{p(1-p)/n}$; we allow five of them.

# %%
vocab, mask_id, special = 1000, 4, (0, 1, 2, 3, 4)
ids = torch.randint(5, vocab, (400, 128))
ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]: never chosen
inputs, labels = mask_tokens(ids, vocab, mask_id=mask_id, special_ids=special,
                             generator=torch.Generator().manual_seed(0))
maskable = ~torch.isin(ids, torch.tensor(special))
n = int(maskable.sum())
measured = {"label set": (labels != IGNORE_INDEX).sum().item() / n,
            "[MASK] shown": (inputs == mask_id).sum().item() / n,
            "random token shown": ((inputs != ids) & (inputs != mask_id)).sum().item() / n}
expected = {"label set": 0.15, "[MASK] shown": 0.12, "random token shown": 0.015 * (1 - 1 / vocab)}
for name, p in expected.items():
    assert abs(measured[name] - p) < 5 * math.sqrt(p * (1 - p) / n), (name, measured[name], p)
    print(f"{name:<20} measured {measured[name]:.4f}, derived {p:.4f}")
assert not labels[:, 0].ne(IGNORE_INDEX).any() and not labels[:, -1].ne(IGNORE_INDEX).any()

# %% [markdown]
# ## Pre-training a small BERT on Gutenberg: `seqlab train mlm --config bert_mlm`
#
# The recipe trains a WordPiece tokenizer on the training sentences, packs consecutive sentences
# into blocks of `data.block_size` tokens between `[CLS]` and `[SEP]`, and holds out the last 5% of
# every text. Fast mode reads a few thousand characters of each text.

# %%
mlm_overrides = pick(
    fast=["data.limit=4000", "data.vocab_size=600", "data.block_size=64", "data.batch_size=16", "model.num_layers=1",
          "model.num_heads=2", "model.hidden_size=64", "model.intermediate_size=128", "fit.max_steps=60",
          "fit.lr=0.003", "fit.eval_every=20", "fit.warmup_steps=5", "fit.plots=false"],
    full=["fit.max_steps=300", "fit.eval_every=50"])
mlm_config = load_run_config("mlm", "bert_mlm", mlm_overrides)
mlm_result = train(mlm_config, runs / "mlm")
mlm_run = load_run(runs / "mlm")
print(f"{mlm_result.parameters:,} weights, {mlm_result.data['train_tokens']:,} training tokens; "
      f"best held-out MLM loss {mlm_result.best_metrics['mlm_loss']:.3f}, "
      f"masked-token accuracy {mlm_result.best_metrics['mlm_accuracy']:.1%}")

# %% [markdown]
# ## The MLM loss over the masked positions only, by hand
#
# The model's logits at every position, the log-softmax taken at the chosen positions only, must
# give the recipe's loss (which asks the model for the chosen positions alone). The unigram
# entropy $H = -\sum_w p(w) \ln p(w)$ of the training tokens is the loss of a model that ignores
# the context: a BERT that reads the context must go below it.

# %%
data = recipe("mlm").build_data(mlm_run.config, mlm_run.tokenizers)
batch = next(iter(data.val))
model = mlm_run.model.eval()
with torch.no_grad():
    full_logits, _ = model(batch.inputs, batch.lengths, batch.token_type_ids)  # (B, T, V): every position
    chosen = batch.labels != IGNORE_INDEX  # (B, T)
    by_hand = -F.log_softmax(full_logits, dim=-1)[chosen].gather(1, batch.labels[chosen][:, None]).mean()
    recipe_loss = recipe("mlm").make_task(mlm_run.config, mlm_run.state).loss(model, batch)
assert torch.allclose(by_hand, recipe_loss, atol=1e-5), (by_hand, recipe_loss)
counts = Counter(i for stream in data.train.loader.dataset.streams for i in stream.tolist())
total = sum(counts.values())
unigram_entropy = -sum(c / total * math.log(c / total) for c in counts.values())
print(f"loss over {int(chosen.sum())} masked tokens: by hand {by_hand:.4f} = recipe {recipe_loss:.4f}; "
      f"unigram entropy {unigram_entropy:.3f} nats")

evaluations = mlm_result.history.evaluations
figure, axes = plt.subplots(figsize=(6, 4))
axes.plot(range(1, len(mlm_result.history.losses) + 1), mlm_result.history.losses, linewidth=0.8, label="training")
axes.plot([r["step"] for r in evaluations], [r["val_mlm_loss"] for r in evaluations], marker="o", label="held out")
axes.axhline(unigram_entropy, color="black", linestyle="--", label="unigram entropy")
axes.set_xlabel("step")
axes.set_ylabel("MLM loss (nats per masked token)")
axes.legend()
save_figure(figure, "20_mlm_loss")

# %% [markdown]
# ## What the model guesses at `[MASK]`
#
# The run's sample: the top guesses at the `[MASK]` of a few sentences (`sample.texts`).

# %%
print(mlm_result.sample)

# %% [markdown]
# ## Fine-tuning on sentence polarity: from scratch, the control, from the MLM run
#
# Three BERTs with the same seed, the same batches and the same budget: one from random weights
# with its own WordPiece (`--config sentiment_bert`); the control, with the MLM run's sizes and
# tokenizer but random weights (`model.pretrained_weights=false`); and the MLM run's encoder
# (`model.pretrained=RUN`), a classifier on its `[CLS]` state. The fine-tuned model starts
# exactly from the pretrained weights, which we check before training.

# %%
sentiment_overrides = pick(fast=["data.limit=600", "fit.epochs=2", "fit.plots=false", "data.batch_size=16"],
                           full=["fit.epochs=3"])
pretrained_config = load_run_config("sentiment", "sentiment_bert",
                                    [*sentiment_overrides, f"model.pretrained={runs / 'mlm'}"])
classifier = recipe("sentiment")
sentiment_data = classifier.build_data(pretrained_config)
start = classifier.build_model(pretrained_config, sentiment_data.state)
classifier.initialize(start, pretrained_config, sentiment_data)
assert all(torch.equal(tensor, mlm_run.model.bert.state_dict()[name]) for name, tensor in
           start.bert.state_dict().items())

scratch_overrides = pick(fast=["model.embedding_dim=64", "model.hidden_size=128", "model.num_layers=1",
                               "model.nhead=2", "data.vocab_size=600"], full=[])
arms = {
    "from scratch": load_run_config("sentiment", "sentiment_bert", [*sentiment_overrides, *scratch_overrides]),
    "control (MLM tokenizer, random weights)": load_run_config(
        "sentiment", "sentiment_bert",
        [*sentiment_overrides, f"model.pretrained={runs / 'mlm'}", "model.pretrained_weights=false"]),
    "fine-tuned from the MLM run": pretrained_config,
}
accuracy, figure = {}, plt.figure(figsize=(6, 4))
for index, (name, config) in enumerate(arms.items()):
    result = train(config, runs / f"sentiment-{index}")
    accuracy[name] = result.history.evaluations[-1]["val_accuracy"]
    points = result.history.evaluations
    plt.plot([r["step"] for r in points], [r["val_accuracy"] for r in points], marker="o", label=name)
    print(f"{name:<42} held-out accuracy {accuracy[name]:.1%}")
plt.xlabel("step")
plt.ylabel("held-out accuracy")
plt.legend(fontsize="small")
save_figure(figure, "20_fine_tuning")

# %% [markdown]
# ## GPT: pre-trained on Gutenberg, continued on Tiny Shakespeare
#
# `seqlab train lm --config gpt_gutenberg`, then `--config gpt_shakespeare_finetune
# model.pretrained=RUN`: the continued model keeps the pretrained BPE tokenizer, so the control
# (`model.pretrained_weights=false`) uses the same one and the two losses, in nats per token,
# compare. `seqlab experiment pretraining --parts gpt` runs exactly this.

# %%
quiet = ["fit.plots=false"]
gpt = run_pretraining_experiment(PretrainingExperimentConfig(
    parts=("gpt",), gpt_steps=pick(fast=30, full=400), finetune_steps=pick(fast=20, full=200),
    gpt_overrides=quiet + pick(fast=["data.limit=30000", "data.vocab_size=400", "data.block_size=32",
                                     "data.batch_size=16", "model.n_layer=1", "model.n_head=2", "model.n_embd=32",
                                     "fit.eval_every=10", "sample.length=20"], full=["fit.eval_every=100"]),
    finetune_overrides=quiet + pick(fast=["data.limit=20000", "data.batch_size=16", "fit.eval_every=5",
                                          "sample.length=20"], full=["fit.eval_every=20"])), runs / "gpt")
for name in ("gpt_scratch", "gpt_pretrained"):
    curve = gpt["arms"][name]["curve"]
    print(f"{name:<15} Tiny Shakespeare validation loss per evaluation: "
          + ", ".join(f"{v:.2f}" for v in curve["values"]))
figure, axes = plt.subplots(figsize=(6, 4))
for name in ("gpt_scratch", "gpt_pretrained"):
    axes.plot(gpt["arms"][name]["curve"]["steps"], gpt["arms"][name]["curve"]["values"], marker="o", label=name)
axes.set_xlabel("fine-tuning step")
axes.set_ylabel("validation loss (nats per BPE token)")
axes.legend()
save_figure(figure, "20_gpt_continued")

# %% [markdown]
# ## What you saw

# %%
gain = 100 * (accuracy["fine-tuned from the MLM run"] - accuracy["from scratch"])
reached = gpt["summary"]["gpt_steps_to_scratch_loss"]
print(
    f"Masking chose {measured['label set']:.2%} of the maskable tokens and showed [MASK] at "
    f"{measured['[MASK] shown']:.2%}, as derived (15%, 12%). The MLM loss over the masked positions by hand "
    f"equals the recipe's ({by_hand:.3f}); after {mlm_result.history.steps} steps the held-out MLM loss is "
    f"{mlm_result.best_metrics['mlm_loss']:.3f} nats against a unigram entropy of {unigram_entropy:.3f}"
    f"{' (fast mode: a tiny model on a few thousand characters)' if fast() else ''}. "
    f"On sentence polarity the BERT fine-tuned from it scored {accuracy['fine-tuned from the MLM run']:.1%}, "
    f"{gain:+.1f} points against the same BERT from scratch ({accuracy['from scratch']:.1%}) and "
    f"{accuracy['control (MLM tokenizer, random weights)']:.1%} for the control. On Tiny Shakespeare the GPT "
    f"continued from Gutenberg ended at {gpt['summary']['gpt_pretrained_final_loss']:.3f} nats/token against "
    f"{gpt['summary']['gpt_scratch_final_loss']:.3f} from scratch, reaching the scratch loss "
    + ("never." if reached is None else f"at step {reached} of {gpt['config']['finetune_steps']}.")
)
