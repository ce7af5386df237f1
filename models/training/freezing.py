"""`--freeze-until`: the backbone's layers, counted and named, and freezing a prefix of them."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def layer_units(backbone: nn.Module) -> list[tuple[str, nn.Module]]:
    """The backbone's layers in forward order, the units `--freeze-until` counts and names.

    Sequential containers are opened up (dlib's `layers.0.1` is one residual block), and so is a
    wrapper with a single child (facenet's `network`).
    """
    units: list[tuple[str, nn.Module]] = []

    def walk(prefix: str, module: nn.Module) -> None:
        children = list(module.named_children())
        own = any(True for _ in module.parameters(recurse=False))
        opened = isinstance(module, nn.Sequential | nn.ModuleList) or (
            len(children) == 1 and not own
        )
        if children and (opened or not prefix):
            for name, child in children:
                walk(f"{prefix}.{name}" if prefix else name, child)
        elif any(True for _ in module.parameters()):
            units.append((prefix, module))

    walk("", backbone)
    return units


def frozen_count(backbone: nn.Module, until: str | None) -> int:
    """How many of `layer_units` `--freeze-until` names (a unit name or prefix, or a count)."""
    if not until:
        return 0
    names = [name for name, _ in layer_units(backbone)]
    if until.isdigit():
        if int(until) > len(names):
            raise ValueError(f"--freeze-until {until}: the backbone has only {len(names)} layers")
        return int(until)
    matches = [i for i, name in enumerate(names) if name == until or name.startswith(f"{until}.")]
    if not matches:
        raise ValueError(f"--freeze-until {until!r}: no such layer; layers: {', '.join(names)}")
    return matches[-1] + 1


def freeze(backbone: nn.Module, until: str | None) -> list[str]:
    """Freeze every layer up to and including `until`; the names of the frozen layers."""
    units = layer_units(backbone)[: frozen_count(backbone, until)]
    for _, module in units:
        module.requires_grad_(False)
    return [name for name, _ in units]


def set_training(network: nn.Module, backbone: nn.Module, frozen: Sequence[str]) -> None:
    """Train mode, except frozen layers: their batch-norm statistics must not move either."""
    network.train()
    modules = dict(backbone.named_modules())
    for name in frozen:
        modules[name].eval()
