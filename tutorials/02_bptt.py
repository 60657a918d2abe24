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
# # 02 · Backpropagation through time, by hand
#
# Training a recurrent network means differentiating a loss summed over time through the
# unrolled loop: backpropagation through time (Werbos 1990, *Backpropagation through time: what
# it does and how to do it*, Proc. IEEE 78(10); Goodfellow, Bengio & Courville 2016, §10.2.2).
# We take a small RNN with a linear read-out and a squared loss,
#
# $$a_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh},\quad h_t = \tanh(a_t),\quad
#   \hat y_t = W_{hy} h_t + b_y,\quad L = \sum_{t=1}^{T} \tfrac12 \lVert \hat y_t - y_t \rVert^2 ,$$
#
# and derive every gradient. The error reaching $h_t$ comes from its own output and, through
# $h_{t+1}$, from every later step:
#
# $$\delta_t \equiv \frac{\partial L}{\partial h_t} = W_{hy}^\top(\hat y_t - y_t)
#   + W_{hh}^\top \big[(1 - h_{t+1}^2) \odot \delta_{t+1}\big], \qquad \delta_{T+1} = 0 .$$
#
# With $g_t = (1 - h_t^2) \odot \delta_t = \partial L / \partial a_t$, the shared weights
# collect one term per step:
#
# $$\frac{\partial L}{\partial W_{hh}} = \sum_t g_t h_{t-1}^\top,\quad
#   \frac{\partial L}{\partial W_{ih}} = \sum_t g_t x_t^\top,\quad
#   \frac{\partial L}{\partial b_{ih}} = \frac{\partial L}{\partial b_{hh}} = \sum_t g_t,\quad
#   \frac{\partial L}{\partial W_{hy}} = \sum_t (\hat y_t - y_t) h_t^\top .$$
#
# We write this in NumPy, check it against central finite differences, and then against the
# gradients seqlab's `RNN` layer produces.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from seqlab.nn import RNN, detach_state
from seqlab.tutorials import pick, save_figure

rng = np.random.default_rng(0)
torch.manual_seed(0)
I, H, O = 3, pick(fast=5, full=16), 2
T = pick(fast=8, full=40)
B = 2

# %% [markdown]
# ## Forward and backward in NumPy
#
# Shapes: `x` is $(T, B, I)$, `h` is $(T+1, B, H)$ with `h[0]` $= h_0 = 0$; row vectors, so
# $W x$ is written `x @ W.T`.

# %%
def init_params(rng):
    k = 1 / np.sqrt(H)  # PyTorch's default U(-1/sqrt(H), 1/sqrt(H))
    return {"weight_ih": rng.uniform(-k, k, (H, I)), "weight_hh": rng.uniform(-k, k, (H, H)),
            "bias_ih": rng.uniform(-k, k, H), "bias_hh": rng.uniform(-k, k, H),
            "weight_hy": rng.uniform(-k, k, (O, H)), "bias_y": rng.uniform(-k, k, O)}


def forward(p, x, y, h0):
    """Returns the loss and what the backward pass needs."""
    h = [h0]
    for t in range(len(x)):
        a_t = x[t] @ p["weight_ih"].T + p["bias_ih"] + h[-1] @ p["weight_hh"].T + p["bias_hh"]
        h.append(np.tanh(a_t))  # h_t = tanh(a_t)
    h = np.stack(h)  # (T+1, B, H)
    y_hat = h[1:] @ p["weight_hy"].T + p["bias_y"]  # (T, B, O)
    loss = 0.5 * np.sum((y_hat - y) ** 2)
    return loss, (h, y_hat)


def backward(p, x, y, cache, cut_every=None):
    """The BPTT recursion above. ``cut_every=k`` stops delta at every k-th step boundary
    (truncated BPTT: the state is carried forward but the gradient is not carried back)."""
    h, y_hat = cache
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    delta_next = np.zeros_like(h[0])  # W_hh^T g_{t+1}, zero after the last step
    for t in reversed(range(len(x))):
        error = y_hat[t] - y[t]  # (B, O)
        grads["weight_hy"] += error.T @ h[t + 1]
        grads["bias_y"] += error.sum(0)
        delta = error @ p["weight_hy"] + delta_next  # delta_t = W_hy^T (y_hat_t - y_t) + W_hh^T g_{t+1}
        g = (1 - h[t + 1] ** 2) * delta  # g_t = (1 - h_t^2) * delta_t
        grads["weight_ih"] += g.T @ x[t]
        grads["weight_hh"] += g.T @ h[t]  # h[t] is h_{t-1}
        grads["bias_ih"] += g.sum(0)
        grads["bias_hh"] += g.sum(0)
        delta_next = g @ p["weight_hh"]
        if cut_every is not None and t % cut_every == 0:
            delta_next = np.zeros_like(delta_next)
    return grads


params = init_params(rng)
x = rng.normal(size=(T, B, I))
y = rng.normal(size=(T, B, O))
h0 = np.zeros((B, H))
loss, cache = forward(params, x, y, h0)
grads = backward(params, x, y, cache)
print(f"T={T}, B={B}, I={I}, H={H}: loss {loss:.4f}")

# %% [markdown]
# ## Check 1: central finite differences
#
# For every parameter entry $\theta$, $\frac{L(\theta+\varepsilon) - L(\theta-\varepsilon)}{2\varepsilon}$
# approximates the derivative with an error of order $\varepsilon^2$; in float64 with
# $\varepsilon = 10^{-6}$ the two agree to about seven significant digits.

# %%
def finite_differences(p, eps=1e-6):
    numeric = {}
    for name, value in p.items():
        numeric[name] = np.zeros_like(value)
        for position in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in p.items()}
            minus = {k: v.copy() for k, v in p.items()}
            plus[name][position] += eps
            minus[name][position] -= eps
            numeric[name][position] = (forward(plus, x, y, h0)[0] - forward(minus, x, y, h0)[0]) / (2 * eps)
    return numeric


numeric = finite_differences(params)
fd_errors = {name: np.abs(grads[name] - numeric[name]).max() / max(np.abs(numeric[name]).max(), 1e-12)
             for name in params}
for name, error in fd_errors.items():
    print(f"{name:10s} relative error vs finite differences {error:.1e}")
assert max(fd_errors.values()) < 1e-6

# %% [markdown]
# ## Check 2: seqlab's `RNN` layer and its `bptt` engine
#
# The same weights go into `seqlab.nn.RNN` in float64 (its parameters carry PyTorch's names:
# `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`); the read-out and the loss are
# written in torch. seqlab runs the time loop with one of three engines: `reference` (the cell
# step in a Python loop, differentiated by autograd), `bptt` (`seqlab.nn.bptt`: the backward
# pass written out by hand, as above, inside one `torch.autograd.Function`) and `torch`
# (PyTorch's fused kernels). The hand-derived NumPy gradients must match each to rounding error.

# %%
def seqlab_gradients(engine):
    layer = RNN(I, H, dtype=torch.float64, engine=engine)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, f"{name}_l0").copy_(torch.from_numpy(params[name]))
    weight_hy = torch.tensor(params["weight_hy"], requires_grad=True)
    bias_y = torch.tensor(params["bias_y"], requires_grad=True)
    output, _ = layer(torch.from_numpy(x))  # (T, B, H)
    torch_loss = 0.5 * ((output @ weight_hy.T + bias_y - torch.from_numpy(y)) ** 2).sum()
    torch_loss.backward()
    assert abs(torch_loss.item() - loss) < 1e-12
    found = {name: getattr(layer, f"{name}_l0").grad.numpy() for name in ("weight_ih", "weight_hh",
                                                                           "bias_ih", "bias_hh")}
    return found | {"weight_hy": weight_hy.grad.numpy(), "bias_y": bias_y.grad.numpy()}


engine_errors = {}
for engine in ("reference", "bptt", "torch"):
    found = seqlab_gradients(engine)
    engine_errors[engine] = max(np.abs(grads[name] - found[name]).max() for name in params)
    print(f"hand-derived BPTT vs seqlab.nn.RNN(engine={engine!r}): largest difference {engine_errors[engine]:.1e}")
assert max(engine_errors.values()) < 1e-12, engine_errors
seqlab_errors = {name: np.abs(grads[name] - seqlab_gradients("bptt")[name]).max() for name in params}

# %% [markdown]
# ## Truncated BPTT
#
# On a long stream one cannot backpropagate to the beginning. Truncated BPTT (Williams & Peng
# 1990, *An efficient gradient-based algorithm for on-line training of recurrent network
# trajectories*) cuts the stream into chunks of $k$ steps, carries the state across chunks but
# not the gradient. In seqlab that is `detach_state` between chunks (see `stream_batches`);
# by hand it is `cut_every=k` in the recursion above. The two must agree exactly, and the
# truncated gradient differs from the full one by what the cut-off paths would have carried.

# %%
layer = RNN(I, H, dtype=torch.float64, engine="bptt")
with torch.no_grad():
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(layer, f"{name}_l0").copy_(torch.from_numpy(params[name]))
weight_hy = torch.tensor(params["weight_hy"], requires_grad=True)
bias_y = torch.tensor(params["bias_y"], requires_grad=True)


def seqlab_truncated(k):
    layer.zero_grad()
    state, total = None, 0.0
    for start in range(0, T, k):
        chunk = torch.from_numpy(x[start:start + k])
        out, state = layer(chunk, state)
        chunk_loss = 0.5 * ((out @ weight_hy.T + bias_y - torch.from_numpy(y[start:start + k])) ** 2).sum()
        chunk_loss.backward()
        total += chunk_loss.item()
        state = detach_state(state)  # keep the value, cut the graph
    return layer.weight_hh_l0.grad.numpy().copy()


chunk_lengths = [k for k in (1, 2, 4, 8, 16, 32) if k < T] + [T]
truncation_error = []
for k in chunk_lengths:
    by_hand = backward(params, x, y, cache, cut_every=k)["weight_hh"]
    assert np.abs(by_hand - seqlab_truncated(k)).max() < 1e-12
    truncation_error.append(np.linalg.norm(by_hand - grads["weight_hh"]) / np.linalg.norm(grads["weight_hh"]))
print("relative error of dL/dW_hh by chunk length:",
      ", ".join(f"k={k}: {e:.2e}" for k, e in zip(chunk_lengths, truncation_error)))

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.bar(list(fd_errors), [fd_errors[n] for n in fd_errors], label="vs finite differences")
left.bar(list(seqlab_errors), [max(seqlab_errors[n], 1e-17) for n in seqlab_errors], alpha=0.7,
         label="vs seqlab's bptt engine")
left.set_yscale("log")
left.set_title("hand-derived BPTT: gradient check")
left.tick_params(axis="x", rotation=45)
left.legend()
right.semilogy(chunk_lengths, np.maximum(truncation_error, 1e-17), "o-")
right.set_xscale("log", base=2)
right.set_xlabel("chunk length k (truncated BPTT)")
right.set_ylabel("relative error of dL/dW_hh")
right.set_title("truncation error")
save_figure(figure, "02_bptt_checks")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* The hand-derived BPTT gradients of a {H}-unit RNN over T={T} steps agree with central finite
  differences to a relative error of at most {max(fd_errors.values()):.1e}, and with seqlab.nn.RNN's gradients to
  {", ".join(f"{e:.0e} ({engine} engine)" for engine, e in engine_errors.items())} (float64).
* Truncating the backward recursion every k steps is what detach_state between chunks does: the two agreed
  exactly for k in {chunk_lengths}.
* Truncation changed dL/dW_hh by {truncation_error[0]:.1%} for k=1, {truncation_error[-2]:.2%} for
  k={chunk_lengths[-2]}, and by {truncation_error[-1]:.1e} for k=T={T}, which is full BPTT.
""")
