"""ImageNet weights of the pretrained backbones: the standard published files, kept where torch
keeps hub downloads (`torch.hub.get_dir()/checkpoints`: $TORCH_HOME/hub/checkpoints, by default
~/.cache/torch/hub/checkpoints), so weights another tool already downloaded are reused.

`tuner run` calls `ensure` before Ray starts: a missing file is downloaded once (from
download.pytorch.org, or the mirror in $TUNER_WEIGHTS_URL); with no network and no file, one
line names the file, where to put it, and `pretrained = false`. Every trial then loads the file
(`load_weights`), on each node: a node that lacks it downloads it the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from tuner.errors import UserError

BASE_URL = "https://download.pytorch.org/models/"
# torchvision's files (IMAGENET1K_V1 for resnet18 and mobilenet_v2, IMAGENET1K_V2 for
# resnet50); the hash prefix in each name is the first digits of the file's SHA-256
FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet50": "resnet50-11ad3fa6.pth",
    "mobilenet_v2": "mobilenet_v2-b0353104.pth",
}
TIMEOUT_S = 30


def checkpoints_dir() -> Path:
    """torch.hub.get_dir()/checkpoints, found as torch finds it ($TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub) without importing torch: the driver
    checks the files before Ray starts and stays torch-free."""
    home = os.environ.get("TORCH_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        home = os.path.join(xdg, "torch")
    return Path(home).expanduser() / "hub" / "checkpoints"


def weight_file(name: str) -> Path:
    return checkpoints_dir() / FILES[name]


def url_of(name: str) -> str:
    base = os.environ.get("TUNER_WEIGHTS_URL", BASE_URL)
    return base.rstrip("/") + "/" + FILES[name]


def ensure(name: str, *, where: str) -> Path:
    """The weight file of backbone `name`, downloaded now when missing, or a UserError that
    says where to put it."""
    path = weight_file(name)
    if path.is_file():
        return path
    url = url_of(name)
    try:
        download(url, path)
    except (OSError, ValueError, RuntimeError) as e:
        reason = " ".join(str(e).split())[:120]
        raise UserError(
            f"{where}: the ImageNet weights of {name} are not here and could not be downloaded "
            f"({type(e).__name__}: {reason}); put {FILES[name]} (from {url}) in "
            f"{path.parent}, or set [model] pretrained = false to train it from scratch"
        ) from None
    return path


def download(url: str, path: Path) -> None:
    """`url` to `path`, checked against the SHA-256 prefix in the file's name (torch.hub's
    own check), written atomically."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    import socket

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT_S)
    try:
        prefix = path.stem.rsplit("-", 1)[-1]
        torch.hub.download_url_to_file(url, str(path), hash_prefix=prefix, progress=False)
    finally:
        socket.setdefaulttimeout(old)


def load_weights(name: str) -> dict:
    """The state_dict of backbone `name` (downloaded first on a node that lacks the file)."""
    import torch

    path = ensure(name, where="[model] pretrained")
    return torch.load(path, map_location="cpu", weights_only=True)


def present(name: str) -> bool:
    return weight_file(name).is_file()
