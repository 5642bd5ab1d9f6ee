"""Train a small character-level GPT on Shakespeare, save a checkpoint, then sample text.

    python -m jtorch examples/char_gpt.py [--steps N] [--out DIR]

A plain PyTorch script: run it with `python -m jtorch` and every `import torch` is jtorch;
run it with `python` and it is real PyTorch, for comparison. The text (`data/shakespeare.txt`,
the opening of the works of Shakespeare, public domain) is split 90/10 into training and
validation characters; batches are random windows of it.
"""
from __future__ import annotations

import argparse
import math
import pathlib
import time

import torch
import torch.nn.functional as F
from torch import nn

DATA = pathlib.Path(__file__).parent / "data" / "shakespeare.txt"


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.dropout = dropout

    def forward(self, x):
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        # (batch, heads, length, head width)
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, dropout)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width), nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int, context: int, width: int, heads: int, layers: int,
                 dropout: float = 0.0):
        super().__init__()
        self.context = context
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.tokens.weight          # tied input and output embeddings
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx, targets=None):
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.tokens(idx) + self.positions(positions)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())

    @torch.no_grad()
    def generate(self, window, new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator=None) -> list[int]:
        """`new_tokens` tokens following `window` (1, context). The window slides instead of
        growing, so every step runs on the same shapes (under XLA a new shape compiles)."""
        tokens = []
        for _ in range(new_tokens):
            logits, _ = self(window)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                kth = torch.topk(logits, top_k).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            token = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
            window = torch.cat([window[:, 1:], token], dim=1)
            tokens.append(token.item())
        return tokens


def batches(data, context: int, batch_size: int, generator):
    """Random windows of `data`: inputs and the same windows shifted by one character."""
    while True:
        starts = torch.randint(len(data) - context - 1, (batch_size,), generator=generator)
        windows = torch.stack([data[s:s + context + 1] for s in starts.tolist()])
        yield windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def evaluate(model, data, context: int, batch_size: int, iters: int, generator,
             device) -> float:
    model.eval()
    source = batches(data, context, batch_size, generator)
    losses = [model(*(t.to(device) for t in next(source)))[1].item() for _ in range(iters)]
    model.train()
    return sum(losses) / len(losses)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DATA)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--sample-chars", type=int, default=300)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("char_gpt.pt"))
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    text = args.data.read_text()
    chars = sorted(set(text))
    encode = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([encode[c] for c in text], dtype=torch.long)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    print(f"{len(text):,} characters, {len(chars)} distinct; "
          f"{len(train):,} for training, {len(val):,} for validation")

    model = GPT(len(chars), args.context, args.width, args.heads, args.layers).to(args.device)
    print(f"GPT: {args.layers} layers, {args.heads} heads, width {args.width}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, on {args.device}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(
        (step + 1) / warmup, 0.5 * (1 + math.cos(math.pi * min(step / args.steps, 1.0)))))
    generator = torch.Generator().manual_seed(args.seed)
    source = batches(train, args.context, args.batch_size, generator)

    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        x, y = next(source)
        _, loss = model(x.to(args.device), y.to(args.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 10 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  "
                  f"{time.perf_counter() - start:6.1f} s", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            val_loss = evaluate(model, val, args.context, args.batch_size, 10, generator,
                                args.device)
            print(f"step {step:5d}  validation loss {val_loss:.3f}", flush=True)

    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "chars": "".join(chars), "args": {k: str(v) for k, v in vars(args).items()}},
               args.out)
    print(f"saved {args.out}")

    # reload the checkpoint into a fresh model, as a later script would, and sample from it
    checkpoint = torch.load(args.out, map_location=args.device)
    sampler = GPT(len(checkpoint["chars"]), args.context, args.width, args.heads,
                  args.layers).to(args.device)
    sampler.load_state_dict(checkpoint["model"])
    sampler.eval()
    # the prompt is a whole context of validation text, so every step sees one input shape
    prompt = val[:args.context].unsqueeze(0).to(args.device)
    tokens = sampler.generate(prompt, args.sample_chars, temperature=0.8, top_k=10,
                              generator=torch.Generator(args.device).manual_seed(0))
    sample = "".join(checkpoint["chars"][i] for i in tokens)
    prompt_text = "".join(checkpoint["chars"][i] for i in prompt[0].tolist())
    print(f"sample after the prompt {prompt_text!r}:\n{sample}")
    return {"loss": loss.item(), "val_loss": val_loss, "sample": sample}


if __name__ == "__main__":
    main()
