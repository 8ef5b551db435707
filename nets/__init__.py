"""Torch library behind the network pages (never imports streamlit).

``nets.layers`` (BatchNorm from scratch), ``nets.models`` (LeNet, ResNet-18, DenseNet and the
MODELS registry), ``nets.inspect`` (layer-by-layer shapes; also ``python -m nets.inspect``) and
``nets.data`` (IDX files, Fashion-MNIST download, offline digits, batch conversion).

The names below load their module (and torch) on first use, not when the package is imported:
``python -m nets.train`` imports this package before its own first line, and it must be able to
take Ctrl-C before torch starts loading.
"""

from importlib import import_module

_WHERE = {
    "BatchNorm": ".layers", "batch_norm": ".layers",
    "MODELS": ".models", "ModelSpec": ".models", "UnknownModel": ".models",
    "build_model": ".models",
    "DATASETS": ".data", "DataError": ".data", "DataUnavailable": ".data", "Dataset": ".data",
    "load_dataset": ".data", "resize_batch": ".data", "to_float": ".data",
}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
