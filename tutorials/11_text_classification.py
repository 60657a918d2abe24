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
# # 11 · Text classification: sentiment end to end
#
# Data: `sentence_polarity` (Pang & Lee 2005: 5,331 positive and 5,331 negative movie-review
# snippets), which ships with seqlab.
#
# A recurrent classifier reads the words, pools the states over time and predicts the class:
#
# $$h_{1..T} = \mathrm{BiGRU}(E x_{1..T}), \qquad u = \max_{t} h_t \ \text{(element-wise)}, \qquad
#   p(y \mid x) = \mathrm{softmax}(W u + b),$$
#
# trained with the cross-entropy $-\log p(y^\ast \mid x)$. Max pooling over a bidirectional
# encoder is the sentence encoder of Conneau et al. (2017, *Supervised learning of universal
# sentence representations from natural language inference data*, EMNLP); Kim (2014) reports
# about 76-81% accuracy on this dataset (10-fold cross-validation). We train it with seqlab's
# `sentiment` recipe (the shipped `sentiment.yaml` config, `seqlab train sentiment`), measure
# accuracy and macro F1, and check F1 by hand.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from seqlab.metrics.classification import confusion_matrix, f1_score
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import load_run, train
from seqlab.tutorials import need_datasets, pick, save_figure, scratch_dir

need_datasets("sentence_polarity")  # stops here with the command to run if one is missing

torch.manual_seed(0)

# %% [markdown]
# ## The run: config, data, training
#
# The shipped config with a few overrides (`key=value`, as on the command line); in fast mode a
# subset of the data and a small model.

# %%
overrides = pick(fast=["data.limit=800", "model.embedding_dim=32", "model.hidden_size=24", "fit.epochs=1",
                       "fit.max_seconds=null", "fit.warmup_steps=0", "fit.plots=false"],
                 full=["fit.max_seconds=null"])
config = load_run_config("sentiment", "sentiment", overrides)
run_dir = scratch_dir() / "sentiment-run"
result = train(config, run_dir)
history = result.history
print(f"{result.parameters:,} parameters, {history.steps} steps in {history.seconds:.0f} s; "
      f"best validation {history.best_metrics}")

# %% [markdown]
# ## Evaluation, and F1 by hand
#
# On the held-out split: the confusion matrix $C_{yk}$ (true class $y$, predicted $k$), accuracy
# $\sum_k C_{kk} / \sum C$, and per class $F_1 = \frac{2\,TP}{2\,TP + FP + FN}$, averaged over the
# two classes (macro F1).

# %%
run = load_run(run_dir)  # the best checkpoint, its tokenizer and label names
data = run.recipe.build_data(run.config, run.tokenizers)  # the same held-out split, encoded by the run's tokenizer
predicted, actual = [], []
with torch.no_grad():
    for batch in data.val:
        predicted.append(run.model(batch.inputs, batch.lengths).argmax(-1))
        actual.append(batch.targets)
predicted, actual = torch.cat(predicted), torch.cat(actual)
C = confusion_matrix(predicted, actual, 2).double()
f1_by_hand = []
for k in range(2):
    tp, fp, fn = C[k, k], C[:, k].sum() - C[k, k], C[k, :].sum() - C[k, k]
    f1_by_hand.append((2 * tp / (2 * tp + fp + fn)).item())
macro_f1 = float(np.mean(f1_by_hand))
assert abs(macro_f1 - f1_score(predicted, actual, num_classes=2)) < 1e-12
accuracy = (C.diagonal().sum() / C.sum()).item()
majority = max(actual.float().mean().item(), 1 - actual.float().mean().item())
print(f"validation: accuracy {accuracy:.3f}, macro F1 {macro_f1:.3f} (majority class {majority:.3f}, "
      f"{len(actual)} snippets)")

examples = ["a gripping , beautifully acted film", "a tedious mess with no redeeming qualities",
            "the plot is thin but the actors are charming"]
for text, (label, probability) in zip(examples, run.recipe.classify(run, examples)):
    print(f"{label:9s} {probability:.2f}  {text}")

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
window = max(1, len(history.losses) // 20)
left.plot(np.convolve(history.losses, np.ones(window) / window, mode="valid"))
left.set_xlabel("step")
left.set_ylabel("training cross-entropy (moving average)")
left.set_title("training")
right.imshow(C.numpy(), cmap="Blues")
for (y, k), count in np.ndenumerate(C.numpy()):
    right.text(k, y, int(count), ha="center", va="center")
right.set_xticks([0, 1], run.state["labels"])
right.set_yticks([0, 1], run.state["labels"])
right.set_xlabel("predicted")
right.set_ylabel("true")
right.set_title(f"validation: accuracy {accuracy:.3f}, macro F1 {macro_f1:.3f}")
save_figure(figure, "11_sentiment")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* The sentiment recipe ({config.model.arch.upper()} encoder, bidirectional={config.model.bidirectional},
  {config.model.pooling} pooling, {result.parameters:,} parameters) trained for {history.steps} steps
  in {history.seconds:.0f} s.
* On {len(actual)} held-out snippets: accuracy {accuracy:.3f}, macro F1 {macro_f1:.3f} (F1 by hand equals
  seqlab.metrics.f1_score); always answering the majority class scores {majority:.3f}.
* Kim (2014) reports about 76-81% on this dataset with 10-fold cross-validation, for comparison with a full run.
""")
