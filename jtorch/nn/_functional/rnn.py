"""The recurrent layers' computation (torch has no functional RNN API: these are private).

`_rnn` is a whole RNN/LSTM/GRU stack as one pure jax function, registered as one op, so
autograd records one node and jax differentiates through the `lax.scan` time loops.
Packed sequences run on their padded form with a (time, batch) mask: a sequence's state
stays frozen after its last step and its outputs there are zero, as torch's packed
kernels give."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ._common import fn_register, random_key

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _project(x, weight, bias):
    """x @ weight.T + bias (bias may be None)."""
    out = jnp.matmul(x, weight.T)
    return out if bias is None else out + bias


def _step(mode, gates_x, h, c, w_hh, b_hh, w_hr):
    """One time step from the input's gate pre-activations `gates_x`; returns (h, c)."""
    gates_h = _project(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return jnp.tanh(gates_x + gates_h), None
    if mode == "RNN_RELU":
        return jax.nn.relu(gates_x + gates_h), None
    if mode == "LSTM":
        # torch's gate order: input, forget, cell, output
        i, f, g, o = jnp.split(gates_x + gates_h, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h if w_hr is None else _project(h, w_hr, None)), c
    # GRU, torch's gate order: reset, update, new; the reset gate scales W_hn h + b_hn
    xr, xz, xn = jnp.split(gates_x, 3, axis=-1)
    hr, hz, hn = jnp.split(gates_h, 3, axis=-1)
    r = jax.nn.sigmoid(xr + hr)
    z = jax.nn.sigmoid(xz + hz)
    n = jnp.tanh(xn + r * hn)
    return (1 - z) * n + z * h, None


def _direction(mode, x, valid, h0, c0, weights):
    """One layer in one direction over time-major `x` (T, B, I); `valid` (T, B, 1) or None."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    gates_x = _project(x, w_ih, b_ih)      # every step's input projection in one matmul

    def step(carry, inputs):
        h, c = carry
        g, ok = inputs
        h_new, c_new = _step(mode, g, h, c, w_hh, b_hh, w_hr)
        if ok is None:
            return (h_new, c_new), h_new
        h_kept = jnp.where(ok, h_new, h)
        c_kept = None if c is None else jnp.where(ok, c_new, c)
        return (h_kept, c_kept), jnp.where(ok, h_new, jnp.zeros((), h_new.dtype))

    (h, c), out = jax.lax.scan(step, (h0, c0), (gates_x, valid))
    return out, h, c


def _both_directions(mode, x, valid, h0, c0, weights):
    """A bidirectional layer as one scan: the reverse direction runs forward over the
    time-flipped input (its mask flipped too, so each sequence starts at its own last step),
    both directions batched by vmap."""
    stacked = tuple(None if w[0] is None else jnp.stack(w) for w in zip(*weights))
    xs = jnp.stack([x, jnp.flip(x, 0)])
    masks = None if valid is None else jnp.stack([valid, jnp.flip(valid, 0)])
    out, h, c = jax.vmap(lambda *a: _direction(mode, *a))(xs, masks, h0, c0, stacked)
    return jnp.concatenate([out[0], jnp.flip(out[1], 0)], axis=-1), h, c


def _layer_weights(weights, has_bias, proj_size):
    """The flat weight list (torch's `_flat_weights` order) as (w_ih, w_hh, b_ih, b_hh, w_hr)
    per layer and direction."""
    per = 2 + 2 * has_bias + (proj_size > 0)
    groups = []
    for start in range(0, len(weights), per):
        w = list(weights[start:start + per])
        w_ih, w_hh = w[0], w[1]
        b_ih, b_hh = (w[2], w[3]) if has_bias else (None, None)
        groups.append((w_ih, w_hh, b_ih, b_hh, w[-1] if proj_size > 0 else None))
    return groups


@fn_register(name="_rnn", function=False)
def _rnn(input, hx, cx, weights, packing, key, mode, num_layers, bidirectional, batch_first,
         has_bias, proj_size, dropout):
    """input: (T, B, I) (batch_first: (B, T, I)), or packed data (N, I) when `packing` is
    (mask, index): mask (T, B) says which (time, batch) places hold data, index (N,) is
    their flat positions t * B + b in torch's packed order; hx, cx: initial states or None
    (zeros); key: dropout's random state between layers, or None (no dropout).
    Returns (output, h_n) or, for LSTM, (output, h_n, c_n)."""
    directions = 2 if bidirectional else 1
    if packing is not None:
        mask, index = packing
        steps, batch = mask.shape
        x = jnp.zeros((steps * batch, input.shape[-1]), input.dtype).at[index].set(input)
        x = x.reshape(steps, batch, -1)
        valid = mask[..., None]
    else:
        x = jnp.swapaxes(input, 0, 1) if batch_first else input
        valid = None
    batch = x.shape[1]
    groups = _layer_weights(weights, has_bias, proj_size)
    hidden = groups[0][1].shape[1]                 # proj_size when projecting
    cell = groups[0][1].shape[0] // _GATES[mode]
    if hx is None:
        hx = jnp.zeros((num_layers * directions, batch, hidden), x.dtype)
    if mode == "LSTM" and cx is None:
        cx = jnp.zeros((num_layers * directions, batch, cell), x.dtype)
    h_n, c_n = [], []
    for layer in range(num_layers):
        first = layer * directions
        if directions == 1:
            x, h, c = _direction(mode, x, valid, hx[first], None if cx is None else cx[first],
                                 groups[first])
            h, c = h[None], None if c is None else c[None]
        else:
            x, h, c = _both_directions(mode, x, valid, hx[first:first + 2],
                                       None if cx is None else cx[first:first + 2],
                                       groups[first:first + 2])
        h_n.append(h)
        c_n.append(c)
        if key is not None and layer < num_layers - 1:
            x = _dropout(x, jax.random.fold_in(random_key(key), layer), dropout)
    if packing is not None:
        out = x.reshape(steps * batch, -1)[index]
    else:
        out = jnp.swapaxes(x, 0, 1) if batch_first else x
    if mode == "LSTM":
        return out, jnp.concatenate(h_n), jnp.concatenate(c_n)
    return out, jnp.concatenate(h_n)


def _dropout(x, key, p):
    if p == 1:
        return x * jnp.zeros((), x.dtype)
    keep = jax.random.bernoulli(key, 1 - p, x.shape)
    return jnp.where(keep, x * jnp.asarray(1 / (1 - p), x.dtype), jnp.zeros((), x.dtype))


@fn_register(name="_rnn_cell", function=False)
def _rnn_cell(input, hx, cx, w_ih, w_hh, b_ih, b_hh, mode):
    """One step of RNNCell/LSTMCell/GRUCell on batched input (B, I); hx, cx: (B, H) or None.
    Returns h' (or (h', c') for LSTM)."""
    batch, hidden = input.shape[0], w_hh.shape[1]
    if hx is None:
        hx = jnp.zeros((batch, hidden), input.dtype)
    if mode == "LSTM" and cx is None:
        cx = jnp.zeros((batch, hidden), input.dtype)
    h, c = _step(mode, _project(input, w_ih, b_ih), hx, cx, w_hh, b_hh, None)
    return (h, c) if mode == "LSTM" else h
