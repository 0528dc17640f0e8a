"""medseg.nets: one module per architecture and a registry of names (imports medseg.layers only).

Importing this package registers every network; MONAI-backed ones import MONAI only when built.
"""

from medseg.core.topology import Topology, unet_topology
from medseg.nets import cmunext, monai_zoo, multigrid, transunet, unet_zoo
from medseg.nets.divisibility import check_patch_size, nearest_valid_sizes
from medseg.nets.registry import (
    available_networks,
    create_network,
    network_entry,
    register_network,
    required_divisor,
)
from medseg.nets.unet import DynamicUNet

__all__ = [
    "DynamicUNet",
    "Topology",
    "available_networks",
    "check_patch_size",
    "cmunext",
    "create_network",
    "monai_zoo",
    "multigrid",
    "nearest_valid_sizes",
    "network_entry",
    "register_network",
    "required_divisor",
    "transunet",
    "unet_topology",
    "unet_zoo",
]
