"""Short-time Fourier transforms: `torch.stft` and `torch.istft`."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .registry import register
from ._util import result_type, torch_dtype

_PAD_MODES = {"reflect": "reflect", "constant": "constant", "replicate": "edge",
              "circular": "wrap"}


def _describe(name, input, n_fft, hop_length, win_length):
    return (f"{name}(Tensor{list(input.shape)}, n_fft={n_fft}, hop_length={hop_length}, "
            f"win_length={win_length})")


def _full_window(window, n_fft, win_length, dtype, where):
    """The window as n_fft values: rectangular by default, a short one centred in zeros."""
    if window is None:
        window = jnp.ones((win_length,), dtype)
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{where} : expected a 1D window tensor of size equal to "
                           f"win_length={win_length}, but got window with size "
                           f"{list(window.shape)}")
    left = (n_fft - win_length) // 2
    return jnp.pad(window, (left, n_fft - win_length - left))


def _frame_index(n_frames, hop_length, n_fft):
    return np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)[None, :]


@register(scalars=())
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None,
         align_to_window=None):
    """Mirrors `torch.stft`."""
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    where = _describe("stft", input, n_fft, hop_length, win_length)
    complex_io = input.dtype.kind == "c" or (window is not None and window.dtype.kind == "c")
    if return_complex is None:
        if not complex_io:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        return_complex = True
    if center and align_to_window:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if input.ndim not in (1, 2) or input.dtype.kind not in "fc":
        raise RuntimeError(f"{where} : expected a 1D or 2D tensor of floating point or complex "
                           f"values")
    if input.dtype in (jnp.float16, jnp.bfloat16) or (window is not None and window.dtype in (
            jnp.float16, jnp.bfloat16)):
        raise RuntimeError(f"Unsupported dtype {torch_dtype(input)}")   # as torch's CPU FFT
    x = input[None] if input.ndim == 1 else input
    if center:
        if pad_mode not in _PAD_MODES:
            raise NotImplementedError(f"Unrecognised padding mode {pad_mode}")
        pad = n_fft // 2
        if pad_mode == "reflect" and pad >= x.shape[-1]:
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({pad}, {pad})"
                               f" at dimension 1 of input {list(input.shape)}")
        x = jnp.pad(x, ((0, 0), (pad, pad)), mode=_PAD_MODES[pad_mode])
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"{where} : expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"{where} : expected hop_length > 0, but got hop_length={hop_length}")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{where} : expected 0 < win_length <= n_fft, but got "
                           f"win_length={win_length}")
    onesided = not complex_io if onesided is None else onesided
    if onesided and complex_io:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    real = result_type(input) if window is None else result_type(input, window)
    full = _full_window(window, n_fft, win_length, real._np, where)
    if align_to_window:
        # frames start where the (short) window starts, not where the n_fft frame starts
        left = (n_fft - win_length) // 2
        x = jnp.pad(x, ((0, 0), (left, n_fft - win_length - left)))
        n_frames = 1 + (length - win_length) // hop_length
    else:
        n_frames = 1 + (length - n_fft) // hop_length
    frames = x[:, _frame_index(n_frames, hop_length, n_fft)] * full
    norm = "ortho" if normalized else "backward"
    spectrum = (jnp.fft.rfft if onesided and not complex_io else jnp.fft.fft)(
        frames, axis=-1, norm=norm)
    if onesided:
        spectrum = spectrum[..., :n_fft // 2 + 1]
    out_dtype = np.result_type(real._np, np.complex64)
    spectrum = jnp.swapaxes(spectrum, -1, -2).astype(out_dtype)
    if input.ndim == 1:
        spectrum = spectrum[0]
    if not return_complex:
        return jnp.stack([spectrum.real, spectrum.imag], axis=-1)
    return spectrum


def _istft_layout(input, n_fft, hop_length, win_length, center, onesided, length):
    """Static facts of an istft call: defaults filled in, and the output's crop."""
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    n_frames = input.shape[-1]
    expected = n_fft + hop_length * (n_frames - 1)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = expected - n_fft // 2 if center else expected
    onesided = input.shape[-2] != n_fft if onesided is None else onesided
    return hop_length, win_length, n_frames, expected, start, end, onesided


def _check_istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
                 normalized=False, onesided=None, length=None, return_complex=False):
    # the window overlap-add must not vanish anywhere in the kept part (torch's NOLA check)
    if input.ndim not in (2, 3) or input.dtype.kind != "c" or 0 in input.shape:
        return
    hop_length, win_length, n_frames, expected, start, end, _ = _istft_layout(
        input, n_fft, hop_length, win_length, center, onesided, length)
    if not 0 < win_length <= n_fft or hop_length <= 0:
        return
    w = np.ones(win_length) if window is None else np.asarray(window)
    if w.ndim != 1 or w.shape[0] != win_length:
        return
    left = (n_fft - win_length) // 2
    w = np.pad(np.abs(w) ** 2, (left, n_fft - win_length - left))
    # bincount, not np.add.at: numpy 2.4's add.at mis-broadcasts a 1-D value over a 2-D index
    envelope = np.bincount(_frame_index(n_frames, hop_length, n_fft).ravel(),
                           weights=np.tile(w, n_frames), minlength=expected)
    kept = envelope[start:min(end, expected)]
    if kept.size and kept.min() < 1e-11:
        raise RuntimeError(f"{_describe('istft', input, n_fft, hop_length, win_length)} "
                           f"window overlap add min: {kept.min():g}")


@register(scalars=(), check=_check_istft)
def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):
    """Mirrors `torch.istft`."""
    if input.dtype.kind != "c":
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    hop_length, win_length, n_frames, expected, start, end, onesided = _istft_layout(
        input, n_fft, hop_length, win_length, center, onesided, length)
    where = _describe("istft", input, n_fft, hop_length, win_length)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{where} : expected a tensor with 3 or 4 dimensions, but got "
                           f"{input.ndim + 1}")
    if 0 in input.shape:
        raise RuntimeError(f"{where} : input tensor cannot be empty.")
    if hop_length <= 0 or not 0 < hop_length <= win_length:
        raise RuntimeError(f"{where} : expected 0 < hop_length <= win_length")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{where} : expected 0 < win_length <= n_fft")
    freq = input.shape[-2]
    if onesided and freq != n_fft // 2 + 1:
        raise RuntimeError(f"{where} : expected the frequency dimension (3rd to the last) of "
                           f"the input tensor to match n_fft / 2 + 1 when onesided=True, but "
                           f"got {freq}")
    if not onesided and freq != n_fft:
        raise RuntimeError(f"{where} : expected the frequency dimension (3rd to the last) of "
                           f"the input tensor to match n_fft when onesided=False, but got "
                           f"{freq}")
    complex_window = window is not None and window.dtype.kind == "c"
    if return_complex and onesided or not return_complex and complex_window:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    real_dtype = np.finfo(input.dtype).dtype
    full = _full_window(window, n_fft, win_length, real_dtype, where)
    spectrum = jnp.swapaxes(input[None] if input.ndim == 2 else input, -1, -2)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        frames = jnp.fft.ifft(spectrum, n=n_fft, axis=-1, norm=norm)
    else:
        frames = jnp.fft.irfft(spectrum[..., :n_fft // 2 + 1], n=n_fft, axis=-1, norm=norm)
    frames = frames * full
    index = _frame_index(n_frames, hop_length, n_fft)
    signal = jnp.zeros((frames.shape[0], expected), frames.dtype).at[:, index].add(frames)
    envelope = jnp.zeros((expected,), full.dtype).at[index].add(jnp.abs(full) ** 2)
    stop = min(end, expected)
    signal = signal[:, start:stop] / envelope[start:stop]
    if end > expected:
        signal = jnp.pad(signal, ((0, 0), (0, end - expected)))
    out_dtype = input.dtype if return_complex else real_dtype
    signal = signal.astype(out_dtype)
    return signal[0] if input.ndim == 2 else signal
