"""Stable names, IDs and addresses of the synthetic fleet: the same input gives the same
pod suffix, UUID, IP or Ray session every time, in the shapes Kubernetes, NVIDIA and Ray use."""

from __future__ import annotations

import hashlib
import re

_KUBE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names
_MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "google/gemma-2-9b-it",
)
# PCI buses of the eight GPUs of an HGX H100 board, in nvidia-smi order.
_PCI_BUSES = ("18", "2A", "3A", "5D", "9A", "AB", "BA", "DB")


def kube_suffix(seed: str, length: int = 5) -> str:
    """Returns a stable Kubernetes-style random suffix derived from `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_KUBE_ALPHABET[b % len(_KUBE_ALPHABET)] for b in digest[:length])


def stable_uuid(seed: str) -> str:
    """Returns a UUID-shaped hex string derived from `seed`."""
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def hex_id(seed: str, length: int) -> str:
    """Returns `length` hex digits derived from `seed` (ReplicaSet hashes, Ray worker ids)."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def slug(text: str) -> str:
    """Returns `text` as a Kubernetes object name (lowercase, dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def model_names(count: int) -> tuple[str, ...]:
    """Returns `count` served model names (Hugging Face ids, numbered when they repeat)."""
    names = []
    for i in range(count):
        base = _MODELS[i % len(_MODELS)]
        names.append(base if i < len(_MODELS) else f"{base}-{i // len(_MODELS) + 1}")
    return tuple(names)


def host_ip(node: int) -> str:
    """Returns the IP of node number `node`."""
    return f"10.0.{node // 250}.{node % 250 + 4}"


def pod_ip(node: int, index: int) -> str:
    """Returns the IP of the `index`-th pod on node number `node` (one /24 per node)."""
    return f"10.{244 + node // 256}.{node % 256}.{index}"


def pci_bus_id(index: int) -> str:
    """Returns the PCI bus id of GPU `index` as DCGM prints it."""
    bus = _PCI_BUSES[index] if index < len(_PCI_BUSES) else f"{0xE0 + index:02X}"
    return f"00000000:{bus}:00.0"


def ray_session(cluster: str) -> str:
    """Returns a Ray session name (session_<date>_<time>_<pid>), stable per cluster."""
    pid = int(hashlib.sha256(cluster.encode()).hexdigest()[:6], 16) % 900000 + 100000
    return f"session_2025-01-06_09-12-34_{pid}_1"
