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
# # 03 · Vanishing and exploding gradients
#
# In tutorial 02 the error reaching $h_t$ from a loss at the last step $T$ was carried back by
# one factor per step. Written out (Bengio, Simard & Frasconi 1994, *Learning long-term
# dependencies with gradient descent is difficult*, IEEE TNN 5(2); Pascanu, Mikolov & Bengio
# 2013, *On the difficulty of training recurrent neural networks*, ICML):
#
# $$\frac{\partial L}{\partial h_t} = \Big(\frac{\partial h_T}{\partial h_t}\Big)^{\!\top}
#   \frac{\partial L}{\partial h_T}, \qquad
#   \frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \frac{\partial h_k}{\partial h_{k-1}}
#   = \prod_{k=t+1}^{T} \operatorname{diag}\!\big(1 - h_k^2\big)\, W_{hh}.$$
#
# Since $|\tanh'| \le 1$, $\lVert \partial h_T / \partial h_t \rVert_2 \le
# \sigma_{\max}(W_{hh})^{T-t}$: when the largest singular value of $W_{hh}$ is below 1 the
# gradient from far steps vanishes exponentially; above 1 it may explode. The LSTM (Hochreiter &
# Schmidhuber 1997) and GRU (Cho et al. 2014) add a path through time that is a gated sum
# rather than a matrix product, and Pascanu et al. clip the gradient's norm against explosions.
#
# We measure all of this with `seqlab.diagnostics`, after checking it against a product of
# Jacobians computed by hand.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from seqlab.diagnostics import compare_gradient_flow, gradient_flow, jacobian_norms
from seqlab.nn import RNN
from seqlab.plots.gradients import gradient_norms_figure
from seqlab.tutorials import figure_dir, pick, save_figure, show_png

torch.manual_seed(0)
T = pick(fast=12, full=100)
H = pick(fast=8, full=32)
B = 4
x = torch.randn(T, B, 4, dtype=torch.float64)

# %% [markdown]
# ## The product of Jacobians, by hand
#
# We run a tanh RNN, keep its states, form $J_k = \operatorname{diag}(1 - h_k^2) W_{hh}$ for
# every step, and multiply them from the end. The norm of the product must equal what
# `seqlab.diagnostics.jacobian_norms` measures, and stay under the bound
# $\sigma_{\max}(W_{hh})^{T-t}$.

# %%
rnn = RNN(4, H, dtype=torch.float64)
with torch.no_grad():
    states, _ = rnn(x)  # (T, B, H): h_0 .. h_{T-1} in Python's 0-based time
W_hh = rnn.weight_hh_l0.detach()

product = torch.eye(H, dtype=torch.float64).expand(B, H, H)
by_hand = [1.0]
for k in range(T - 1, 0, -1):
    J_k = (1 - states[k] ** 2).unsqueeze(-1) * W_hh  # diag(1 - h_k^2) W_hh, (B, H, H)
    product = product @ J_k  # dh_{T-1}/dh_{k-1}
    by_hand.append(torch.linalg.matrix_norm(product, ord=2).mean().item())
by_hand = np.array(by_hand[::-1])  # index t: ||dh_{T-1}/dh_t||

measured = jacobian_norms(rnn, x)[0, 0].double().numpy()
assert np.allclose(by_hand, measured, rtol=1e-5), np.abs(by_hand - measured).max()
sigma_max = torch.linalg.matrix_norm(W_hh, ord=2).item()
bound = sigma_max ** np.arange(T - 1, -1, -1)
assert np.all(by_hand <= bound * (1 + 1e-9))
print(f"sigma_max(W_hh) = {sigma_max:.3f}; ||dh_T/dh_0|| = {by_hand[0]:.2e} <= bound {bound[0]:.2e}")

# %% [markdown]
# The same product is what reaches $h_t$ from a loss at the last step. With a read-out
# $L = u^\top h_T$, $\partial L / \partial h_t = (\partial h_T / \partial h_t)^\top u$; we
# compare its norm with `seqlab.diagnostics.gradient_flow`, which measures it with autograd.

# %%
flow = gradient_flow(rnn, x, loss="last")
generator = torch.Generator().manual_seed(0)
u = torch.randn(H, generator=generator, dtype=torch.float64)
u = u / u.norm()  # the read-out direction gradient_flow uses (seed 0)
grad_by_hand = []
g = u.expand(B, H)
grad_by_hand.append(g.norm(dim=1).mean().item())
for k in range(T - 1, 0, -1):
    J_k = (1 - states[k] ** 2).unsqueeze(-1) * W_hh
    g = (g.unsqueeze(1) @ J_k).squeeze(1)  # dL/dh_{k-1} = J_k^T dL/dh_k
    grad_by_hand.append(g.norm(dim=1).mean().item())
grad_by_hand = np.array(grad_by_hand[::-1])
assert np.allclose(grad_by_hand, flow.grad_h[0, 0].numpy(), rtol=1e-9)
print(f"hand-carried dL/dh_t equals gradient_flow at all {T} steps; ratio first/last {flow.ratio():.2e}")

# %% [markdown]
# ## The spectrum of $W_{hh}$ decides
#
# Scaling $W_{hh}$ so that $\sigma_{\max}$ is 0.5, 1, 1.5 or 3 moves the decay rate; with tanh
# the saturation factor $1 - h_k^2$ pulls even the large scales back down once the units saturate.

# %%
scales = (0.5, 1.0, 1.5, 3.0)
decay = {}
for scale in scales:
    scaled = RNN(4, H, dtype=torch.float64)
    with torch.no_grad():
        scaled.load_state_dict(rnn.state_dict())
        scaled.weight_hh_l0.mul_(scale / sigma_max)
    decay[f"sigma_max = {scale}"] = jacobian_norms(scaled, 0.1 * x)[0, 0].numpy()

figure, axes = plt.subplots(figsize=(7, 4))
for label, values in decay.items():
    axes.semilogy(np.arange(T), values, label=label)
axes.set_xlabel("step t")
axes.set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$")
axes.set_title("tanh RNN: Jacobian products against the scale of $W_{hh}$")
axes.legend()
save_figure(figure, "03_jacobian_vs_spectrum")

# %% [markdown]
# ## RNN, LSTM and GRU at initialisation
#
# `compare_gradient_flow` builds each layer with the same seed and inputs and measures
# $\lVert \partial L / \partial h_t \rVert$ for a loss at the last step. The LSTM's cell state
# and the GRU's interpolation $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$ carry the gradient
# much further back than the tanh RNN.

# %%
cells = ("rnn_tanh", "rnn_tanh_orthogonal", "lstm", "lstm_forget_bias_1", "gru")
comparison = compare_gradient_flow(cells, T=T, hidden_size=H, with_jacobians=False)
flow_png = figure_dir() / "03_gradient_flow.png"
gradient_norms_figure(comparison.grad_h, flow_png)
show_png(flow_png)
ratios = {name: comparison.summary[name]["grad_ratio"] for name in cells}
horizons = {name: comparison.summary[name]["horizon_1e-3"] for name in cells}
for name in cells:
    print(f"{name:22s} ||dL/dh_0|| / ||dL/dh_T|| = {ratios[name]:.2e}   steps back above 1e-3: {horizons[name]}")

# %% [markdown]
# ## Exploding gradients and clipping
#
# A ReLU RNN with $W_{hh} = 1.1\, I$ (an IRNN, Le, Jaitly & Hinton 2015, scaled past 1)
# multiplies the gradient by up to 1.1 per step. Pascanu et al. (2013) rescale the gradient
# when its norm exceeds a threshold $\theta$:
#
# $$\hat g = g \cdot \min\Big(1, \frac{\theta}{\lVert g \rVert}\Big).$$
#
# We clip one gradient by hand and check it against `torch.nn.utils.clip_grad_norm_`, then train
# the same IRNN with plain SGD on the adding problem (Hochreiter & Schmidhuber 1997: the target
# is the sum of the two values marked in the second input channel), with and without clipping.

# %%
def adding_batch(generator, steps, batch):
    x = torch.rand(steps, batch, 2, generator=generator, dtype=torch.float64)
    x[:, :, 1] = 0
    for b in range(batch):
        x[torch.randperm(steps, generator=generator)[:2], b, 1] = 1  # two marked steps per sequence
    return x, (x[:, :, 0] * x[:, :, 1]).sum(0)  # (T, B, 2), (B,)


def make_irnn():
    torch.manual_seed(1)
    layer = RNN(2, H, nonlinearity="relu", init="identity", dtype=torch.float64)
    with torch.no_grad():
        layer.weight_hh_l0.mul_(1.1)
    return layer, torch.nn.Linear(H, 1, dtype=torch.float64)


T_add, train_steps, learning_rate, theta = pick(fast=12, full=50), pick(fast=12, full=200), 0.05, 1.0
curves, max_norms = {}, {}
for label, clip in (("no clipping", None), (f"clipped to {theta}", theta)):
    layer, head = make_irnn()
    params = [*layer.parameters(), *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=learning_rate)
    generator = torch.Generator().manual_seed(2)
    losses, norms = [], []
    for _ in range(train_steps):
        inputs, target = adding_batch(generator, T_add, 16)
        output, _ = layer(inputs)
        loss = ((head(output[-1]).squeeze(-1) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad.clone() for p in params]
        norm = torch.sqrt(sum((g ** 2).sum() for g in grads)).item()
        if clip is not None:
            # g * min(1, theta / ||g||); PyTorch adds 1e-6 to the norm to guard against division by zero
            clipped = [g * min(1.0, clip / (norm + 1e-6)) for g in grads]
            reported = torch.nn.utils.clip_grad_norm_(params, clip).item()
            assert abs(reported - norm) <= 1e-9 * norm
            assert all(torch.allclose(p.grad, c, rtol=1e-12, atol=0) for p, c in zip(params, clipped))
        optimizer.step()
        losses.append(loss.item())
        norms.append(norm)
    curves[label], max_norms[label] = np.array(losses), max(norms)

figure, axes = plt.subplots(figsize=(7, 4))
for label, losses in curves.items():
    axes.semilogy(losses, label=f"{label} (largest ||g|| {max_norms[label]:.1e})")
axes.set_xlabel("SGD step")
axes.set_ylabel("squared error")
axes.set_title(f"IRNN with W_hh = 1.1 I on the adding problem, T={T_add}, lr={learning_rate}")
axes.legend()
save_figure(figure, "03_clipping")
for label, losses in curves.items():
    print(f"{label:15s} largest gradient norm {max_norms[label]:.2e}, worst loss {losses.max():.3g}, "
          f"mean of the last 10 losses {losses[-10:].mean():.3g}")

# %% [markdown]
# ## What you saw

# %%
best = max(cells, key=lambda name: horizons[name])
unclipped, clipped_curve = curves["no clipping"], curves[f"clipped to {theta}"]
print(f"""
* A product of T-1={T - 1} Jacobians diag(1 - h_k^2) W_hh, computed by hand, equals seqlab's jacobian_norms and
  gradient_flow at every step; with sigma_max(W_hh) = {sigma_max:.2f} its norm fell to {by_hand[0]:.1e}
  (the bound sigma_max^(T-1) is {bound[0]:.1e}).
* Scaling W_hh to sigma_max = {", ".join(str(s) for s in scales)} left ||dh_T/dh_0|| at
  {", ".join(f"{v[0]:.1e}" for v in decay.values())}.
* At initialisation the share of the last step's gradient reaching the first step was
  {", ".join(f"{name} {ratios[name]:.1e}" for name in cells)}; {best} kept it above 1e-3 for the most steps
  ({horizons[best]} of {T}).
* Training the IRNN (W_hh = 1.1 I) with SGD for {train_steps} steps: unclipped, the gradient norm reached
  {max_norms["no clipping"]:.1e} and the loss peaked at {unclipped.max():.3g}; clipped to norm {theta}, the loss
  peaked at {clipped_curve.max():.3g}. Mean of the last 10 losses: {unclipped[-10:].mean():.3g}
  unclipped, {clipped_curve[-10:].mean():.3g} clipped.
""")
