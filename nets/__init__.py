"""Torch library behind the network pages (never imports streamlit).

``nets.layers`` (BatchNorm from scratch), ``nets.models`` (LeNet, ResNet-18, DenseNet and the
MODELS registry), ``nets.inspect`` (layer-by-layer shapes; also ``python -m nets.inspect``) and
``nets.data`` (IDX files, Fashion-MNIST download, offline digits, batch conversion).
"""

from .layers import BatchNorm, batch_norm
from .models import MODELS, ModelSpec, UnknownModel, build_model
from .data import (DATASETS, DataError, DataUnavailable, Dataset, load_dataset, resize_batch,
                   to_float)

__all__ = ["BatchNorm", "batch_norm", "MODELS", "ModelSpec", "UnknownModel", "build_model",
           "DATASETS", "DataError", "DataUnavailable", "Dataset", "load_dataset", "resize_batch",
           "to_float"]
