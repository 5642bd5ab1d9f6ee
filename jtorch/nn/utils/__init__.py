"""Mirrors `torch.nn.utils`."""
