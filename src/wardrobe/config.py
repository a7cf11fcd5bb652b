"""OmegaConf resolvers shared by every Hydra config of the project.

``${taxonomy:FINE_CATEGORIES}`` gives a vocabulary from :mod:`wardrobe.taxonomy` as a list, so
no config spells a category list again; ``${len:...}`` gives its length (``num_classes``).
"""

from __future__ import annotations

import os

from omegaconf import ListConfig, OmegaConf

from wardrobe import taxonomy


def _taxonomy(name: str) -> ListConfig:
    value = getattr(taxonomy, name, None)
    if not isinstance(value, tuple):
        raise KeyError(f"${{taxonomy:{name}}}: wardrobe.taxonomy has no vocabulary named {name!r}")
    return ListConfig(list(value))  # a node, so OmegaConf.resolve can store it in place


def register_resolvers() -> None:
    """Register the project's resolvers once (idempotent)."""
    resolvers = {"taxonomy": _taxonomy, "len": len, "cwd": os.getcwd}
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


register_resolvers()
