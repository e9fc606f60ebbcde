"""Images as people keep them: a folder of photos with one sub-folder per class (arrays in
their own layout: tuner.data.layouts).

A folder is decoded once (Pillow: JPEG, PNG, BMP, WebP, GIF, TIFF; grey, RGB, RGBA, palette)
into 8-bit pixels, resized to one size derived from the data when sizes differ, and cached in
a file keyed by the files' names, sizes and times: later runs, every trial and a resumed search
read the cache (memory-mapped) instead of the photos. Images stay 8-bit (N, C, H, W) uint8 in
the splits, a quarter of float32; the model's first layer scales them to [0, 1] and
standardizes each channel with the training split's statistics (`Splits.pixels`).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tuner.data.arrays import check_class_counts
from tuner.data.layouts import pixel_stats
from tuner.data.splits import Splits, stratified_holdout, stratified_split
from tuner.errors import UserError
from tuner.store.storage import cache_root

# what Pillow decodes here; other files (a .DS_Store, a README, a labels.csv) are skipped and
# counted in the data line
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif",
                              ".tiff"})
SPLIT_FOLDERS = {"train": ("train", "training"), "valid": ("valid", "val", "validation"),
                 "test": ("test", "testing")}
MAX_SIDE = 128  # the largest side a derived size takes: a CPU trains small images in seconds
CACHE_BYTES = 2 << 30  # and the cache (one copy of the set) stays within 2 GiB
# and an epoch reads at most this many pixels (5 000 images of 64×64): the cost of a CNN's
# epoch grows with images × pixels, and a 7-minute search on 2 CPU cores needs epochs of
# seconds; a GPU user sets [data] size for more detail
EPOCH_PIXELS = 5000 * 64 * 64
MIN_SIDE = 8


# ---------------------------------------------------------------- a folder of photos


def is_image_file(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def _subfolders(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_folders(path: Path) -> dict[str, Path]:
    """{"train": ..., "test": ..., maybe "valid": ...} when `path` holds split folders."""
    found: dict[str, Path] = {}
    for sub in _subfolders(path):
        for part, names in SPLIT_FOLDERS.items():
            if sub.name.lower() in names:
                found[part] = sub
    return found if {"train", "test"} <= set(found) else {}


def scan(at: str, folder: Path) -> tuple[list[tuple[str, Path]], int]:
    """[(class name, image file)] in one folder of class sub-folders, and the number of files
    skipped as not images."""
    classes = _subfolders(folder)
    if not classes:
        loose = sum(1 for p in folder.iterdir() if is_image_file(p))
        more = (f" (it holds {loose} image(s) directly: move them into one sub-folder per "
                f"class)") if loose else ""
        raise UserError(f"{at}: {folder} has no class folders{more}; put each class's images "
                        f"in a sub-folder named after the class, e.g. {folder}/cat/1.jpg")
    files, skipped = [], 0
    for c in classes:
        found = sorted(p for p in c.rglob("*") if p.is_file())
        images = [p for p in found if is_image_file(p)]
        skipped += len(found) - len(images)
        if not images:
            raise UserError(f"{at}: class folder {c} holds no images "
                            f"({', '.join(sorted(IMAGE_EXTENSIONS))}); add images or remove "
                            f"the folder")
        files += [(c.name, p) for p in images]
    return files, skipped


def _open(at: str, path: Path, size: tuple[int, int] | None = None):
    """The image at `path` as RGB or L (alpha composited on white), resized and centre-cropped
    to `size` (H, W) when given."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if size is not None:
                im.draft("RGB" if im.mode not in ("L", "1") else "L",
                         (size[1] * 2, size[0] * 2))  # JPEG: decode at a smaller scale
            im.load()
            im = _plain_mode(im)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise _undecodable(at, path, e) from None
    if size is not None and (im.height, im.width) != size:
        im = _resize_crop(im, size)
    return im


def _undecodable(at: str, path: Path, e: Exception) -> UserError:
    """The one line for a file Pillow cannot read, whether its header or its pixels fail."""
    return UserError(f"{at}: {path}: Pillow cannot decode it ({type(e).__name__}: "
                     f"{' '.join(str(e).split())[:120]}); remove the file or save it again as "
                     f"PNG or JPEG")


def _plain_mode(im):
    from PIL import Image

    if im.mode in ("L", "RGB"):
        return im
    if im.mode == "1":
        return im.convert("L")
    if im.mode.startswith("I") or im.mode == "F":  # 16-bit or float grey: to 8 bits
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        return Image.fromarray(np.clip(a / top * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if im.mode == "P" and "transparency" not in im.info:
        return im.convert("RGB")
    if im.mode in ("LA", "RGBA", "P", "PA"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")  # CMYK, YCbCr, ...


def _resize_crop(im, size: tuple[int, int]):
    """Shorter side to the target, then the centre cropped: no image is stretched."""
    from PIL import Image

    h, w = size
    scale = max(h / im.height, w / im.width)
    new = (max(w, round(im.width * scale)), max(h, round(im.height * scale)))
    im = im.resize(new, Image.Resampling.BILINEAR, reducing_gap=2.0)
    left, top = (new[0] - w) // 2, (new[1] - h) // 2
    return im.crop((left, top, left + w, top + h))


def _headers(at: str, files: list[Path]) -> tuple[list[tuple[int, int]], bool]:
    """The (H, W) of every image and whether any is in colour, from the headers only."""
    from PIL import Image, UnidentifiedImageError

    sizes, colour = [], False
    for p in files:
        try:
            with Image.open(p) as im:
                sizes.append((im.height, im.width))
                colour = colour or im.mode not in ("L", "1", "I", "I;16", "F", "LA")
                if im.mode == "P":
                    colour = colour or _palette_in_colour(im)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            raise _undecodable(at, p, e) from None
    return sizes, colour


def cached_headers(at: str, files: list[tuple[str, Path]], key: str
                   ) -> tuple[list[tuple[int, int]], bool]:
    """`_headers` of `files`, kept beside the pixel cache under the files' key: a folder
    read before (a resumed search, final training) opens no image to find its size."""
    path = cache_root() / "images" / f"{key}.headers.json"
    try:
        doc = json.loads(path.read_text())
        return [tuple(s) for s in doc["sizes"]], bool(doc["colour"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not read before, or a cut-short file: read the headers
    sizes, colour = _headers(at, [p for _, p in files])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"sizes": sizes, "colour": colour}))
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache folder: read the headers again next time
    return sizes, colour


def _palette_in_colour(im) -> bool:
    pal = im.getpalette() or []
    return any(pal[i] != pal[i + 1] or pal[i] != pal[i + 2] for i in range(0, len(pal) - 2, 3))


def derived_size(sizes: list[tuple[int, int]], channels: int, given, at: str
                 ) -> tuple[tuple[int, int], str]:
    """One (H, W) for every image, and why: `[data] size` when given; the images' own when
    they all share it (and it is small enough); else the median shorter side, within MAX_SIDE
    and a cache of CACHE_BYTES."""
    if given is not None:
        hw = _size_option(given, at)
        return hw, f"[data] size = {list(hw) if hw[0] != hw[1] else hw[0]}"
    n = len(sizes)
    memory_side = int((CACHE_BYTES / max(n * channels, 1)) ** 0.5)
    epoch_side = int((EPOCH_PIXELS / max(n, 1)) ** 0.5) // 8 * 8
    cap = max(MIN_SIDE, min(MAX_SIDE, memory_side, epoch_side))
    limit = ("a CPU trains small images fast" if cap == MAX_SIDE else
             f"{n} images in a 2 GiB cache" if cap == memory_side else
             f"{n} images of at most {cap}×{cap} keep an epoch short on a CPU")
    capped = f"at most {cap} px ({limit}; [data] size sets another)"
    if len(set(sizes)) == 1 and max(sizes[0]) <= cap:
        return sizes[0], "every image has this size"
    side = int(np.median([min(s) for s in sizes]))
    side = max(MIN_SIDE, min(cap, side // 8 * 8 if side >= 16 else side))
    lo, hi = min(min(s) for s in sizes), max(max(s) for s in sizes)
    return (side, side), (f"sizes differ ({lo}-{hi} px): the median shorter side (to a "
                          f"multiple of 8), {capped}, "
                          f"each image's shorter side resized to it and the centre cropped")


def _size_option(v, at: str) -> tuple[int, int]:
    ok = lambda s: isinstance(s, int) and not isinstance(s, bool) and 4 <= s <= 1024  # noqa: E731
    if ok(v):
        return v, v
    if isinstance(v, list) and len(v) == 2 and all(ok(s) for s in v):
        return v[0], v[1]
    raise UserError(f"{at.rsplit(' path', 1)[0]} size: must be a side in pixels (4-1024) or "
                    f"[height, width], e.g. size = 64, but got {v!r}")


def files_key(files: list[tuple[str, Path]]) -> str:
    """What identifies a folder's files: labels, paths, sizes and modification times."""
    h = hashlib.sha256()
    for label, p in files:
        st = p.stat()
        h.update(f"{label}\0{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def _cache_key(key: str, size: tuple[int, int], channels: int) -> str:
    return hashlib.sha256(json.dumps([key, size, channels]).encode()).hexdigest()[:24]


def decode(at: str, files: list[tuple[str, Path]], size, channels: int) -> np.ndarray:
    """(N, C, H, W) uint8 pixels of `files`, decoded in threads (Pillow releases the GIL)."""
    mode = "L" if channels == 1 else "RGB"

    def one(p: Path) -> np.ndarray:
        im = _open(at, p, size)
        a = np.asarray(im.convert(mode) if im.mode != mode else im, dtype=np.uint8)
        return a[None] if a.ndim == 2 else np.moveaxis(a, 2, 0)

    out = np.empty((len(files), channels, *size), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for i, a in enumerate(pool.map(one, [p for _, p in files])):
            out[i] = a
    return out


def cached_pixels(at: str, files: list[tuple[str, Path]], key: str, size, channels: int
                  ) -> tuple[np.ndarray, str]:
    """The decoded pixels, from the cache when these files (`files_key`) were decoded before
    at this size (memory-mapped), else decoded now and cached; and where they came from."""
    key = _cache_key(key, size, channels)
    folder = cache_root() / "images"
    path = folder / f"{key}.npy"
    if path.is_file():
        try:
            x = np.load(path, mmap_mode="r")
            if x.shape == (len(files), channels, *size):
                return x, f"read from the cache {path}"
        except (OSError, ValueError):
            pass  # a cut-short file: decode again
    x = decode(at, files, size, channels)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, x)
        os.replace(tmp, path)
        return np.load(path, mmap_mode="r"), f"decoded once, cached in {path}"
    except OSError as e:
        return x, f"decoded (not cached: {type(e).__name__} writing {folder})"


def load_folder(*, path: Path, raw: str, split, seed: int, where: str, options: dict
                ) -> Splits:
    """Splits from a folder of class folders (or of train/ [valid/] test/ folders of them)."""
    at = f"{where} path: {raw}"
    parts = _split_folders(path)
    # in the order _indices numbers them: train, valid, test
    given = {part: scan(at, parts[part]) for part in SPLIT_FOLDERS if part in parts} \
        if parts else {"all": scan(at, path)}
    files = [f for part in given.values() for f in part[0]]
    skipped = sum(part[1] for part in given.values())
    classes = sorted({label for label, _ in files}, key=_natural)
    if len(classes) < 2:
        raise UserError(f"{at}: one class ({classes[0]!r}) only; a classifier needs two class "
                        f"folders or more, each holding that class's images")
    if parts:
        extra = sorted({c for part in ("valid", "test") if part in given
                        for c, _ in given[part][0]} - {c for c, _ in given["train"][0]})
        if extra:
            raise UserError(f"{at}: class {extra[0]!r} has images outside {parts['train'].name}/ "
                            f"but none in it; add training images of it or remove the folder")
    key = files_key(files)
    sizes, colour = cached_headers(at, files, key)
    channels = 3 if colour else 1
    size, why = derived_size(sizes, channels, options.get("size"), at)
    x, source = cached_pixels(at, files, key, size, channels)
    y = np.array([classes.index(label) for label, _ in files], dtype=np.int64)
    tr, va, te = _indices(at, given, y, classes, split, seed)
    scale, mean, std = pixel_stats(np.asarray(x[np.sort(tr)]))
    grey = "grey" if channels == 1 else "colour"
    notes = [f"{len(files)} {grey} images in {len(classes)} class folders, "
             f"{size[0]}×{size[1]} ({why}), {source}"]
    if parts:
        folders = ", ".join(p.name + "/" for p in parts.values())
        notes.append(f"splits as given by the folders {folders}")
    if skipped:
        notes.append(f"{skipped} file(s) that are not images skipped")
    return Splits(path.name, "classification", x[tr], y[tr], x[va], y[va], x[te], y[te],
                  classes=classes, notes="; ".join(notes), pixels=(scale, mean, std))


def _natural(name: str):
    """Class folders in natural order: '2' before '10', names alphabetically."""
    return (0, float(name), name) if name.replace(".", "", 1).isdigit() else (1, 0.0, name)


def _indices(at: str, given: dict, y: np.ndarray, classes: list, split, seed: int) -> tuple:
    fix = "add images, drop the class or change [data] split"
    if "all" in given:
        check_class_counts(at, y, classes, split, fix)
        return stratified_split(y, split, seed, where=at)
    start = 0
    idx = {}
    for part in ("train", "valid", "test"):
        if part in given:
            idx[part] = np.arange(start, start + len(given[part][0]))
            start += len(given[part][0])
    if "valid" not in idx:  # carve it out of train in the split's proportions
        f_valid = split[1] / (split[0] + split[1])
        keep, hold = stratified_holdout(y[idx["train"]], f_valid, seed, where=at)
        idx["valid"], idx["train"] = idx["train"][hold], idx["train"][keep]
    return idx["train"], idx["valid"], idx["test"]
