"""Installed weights: checked copies of downloaded checkpoints in the user data folder.

`salfom weights install FILE` reads the file as the loader does (safely, kind, preset, which
parts of the model it fills), copies it atomically to `<data>/weights/<kind>/` and makes it the
default of its role: a whole model ("predict") becomes what `salfom predict` without `-c` and
the app use; a UMT encoder file ("encoder") becomes the default initialisation of a new
training run, never a prediction checkpoint. `$SALFOM_DATA_DIR` overrides the data folder.

The index (`installed.json`) is rewritten atomically after the file is in place; an entry whose
file has gone is ignored, so a half-finished install or a hand-deleted file is never used.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..io.atomic import atomic_write_text, remove_stale_temporaries
from .checkpoint import CheckpointError, CheckpointInfo, describe_checkpoint, describe_parts, kind_phrase

ROLES = ("predict", "encoder")
_INDEX = "installed.json"

# Where the files come from (users download them in a browser; nothing here downloads).
SOURCE_REPOSITORY = "https://github.com/mr17m/SalFoM---Video-Saliency-Prediction"
SOURCES = {
    "predict": ("SalFoM trained on DHF1K", "the \"Model weights\" section of the SalFoM authors' README "
                "(a SharePoint link)"),
    "encoder": ("UMT-L/16 encoder pretrained on Kinetics (for training from scratch)",
                "l16_ptk710_ftk710_ftk400_f16_res224.pth, a direct link in the same README"),
}


class WeightsError(ValueError):
    """An install, lookup or removal that cannot be done; the message says why."""


@dataclass
class InstalledWeights:
    name: str            # file name in the data folder, unique across kinds
    kind: str            # official, umt or studio
    role: str            # predict or encoder
    preset: str
    parameters: int
    size: int
    sha256: str
    source: str          # the file it was installed from
    installed: str       # ISO date and time (UTC)
    path: str = ""       # filled on reading the index
    default: bool = False


def data_dir() -> Path:
    """$SALFOM_DATA_DIR, else the platform's user data folder."""
    env = os.environ.get("SALFOM_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("salfom-studio", appauthor=False))


def weights_dir() -> Path:
    return data_dir() / "weights"


# --------------------------------------------------------------------------- index


def _read_index() -> dict:
    path = weights_dir() / _INDEX
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"entries": [], "defaults": {}}
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path}: the list of installed weights is unreadable ({exc}); "
                           f"remove it and install the files again") from None
    if not isinstance(index, dict) or not isinstance(index.get("entries"), list):
        raise WeightsError(f"{path}: the list of installed weights is damaged; remove it and install again")
    index.setdefault("defaults", {})
    return index


def _write_index(index: dict) -> None:
    atomic_write_text(weights_dir() / _INDEX, json.dumps(index, indent=1))


def _entry_path(entry: dict) -> Path:
    return weights_dir() / entry["kind"] / entry["name"]


def installed() -> list[InstalledWeights]:
    """Installed weights whose files are present, oldest first; `default` marks each role's default."""
    index = _read_index()
    defaults = set(_effective_defaults(index).values())
    out = []
    for entry in index["entries"]:
        path = _entry_path(entry)
        if path.is_file():
            fields = {k: entry[k] for k in InstalledWeights.__dataclass_fields__ if k in entry}
            fields.update(path=str(path), default=entry["name"] in defaults)
            out.append(InstalledWeights(**fields))
    return out


def _effective_defaults(index: dict) -> dict[str, str]:
    """Each role's default: the recorded one while its file is there, else the newest of that role."""
    present = [e for e in index["entries"] if _entry_path(e).is_file()]
    out = {}
    for role in ROLES:
        names = [e["name"] for e in present if e["role"] == role]
        chosen = index["defaults"].get(role)
        if chosen in names:
            out[role] = chosen
        elif names:
            out[role] = names[-1]
    return out


def default_path(role: str = "predict") -> Path | None:
    """The default file of `role` ("predict" or "encoder"), or None when none is installed.

    Never raises: a damaged index means "none" here (the CLI's `weights list` names the problem)."""
    try:
        index = _read_index()
    except WeightsError:
        return None
    name = _effective_defaults(index).get(role)
    entry = next((e for e in index["entries"] if e["name"] == name), None)
    return _entry_path(entry) if entry else None


def default_checkpoint() -> Path | None:
    """What `salfom predict` without `-c` and the app use; never a UMT encoder file."""
    return default_path("predict")


def resolve_checkpoint(checkpoint: str | None) -> str:
    """The checkpoint given, or the installed default; WeightsError when neither exists."""
    if checkpoint:
        return checkpoint
    installed_default = default_checkpoint()
    if installed_default is None:
        _read_index()      # a damaged list of installed weights is named, not taken for "none installed"
        raise WeightsError("no checkpoint given (-c) and none installed: download the SalFoM DHF1K weights "
                           f"({SOURCE_REPOSITORY}, \"Model weights\") and run `salfom weights install FILE`, "
                           "or use -c center-bias")
    return str(installed_default)


def default_encoder() -> Path | None:
    """The default UMT encoder initialisation of a new training run."""
    return default_path("encoder")


# --------------------------------------------------------------------------- install / remove


def check(path: str | os.PathLike) -> CheckpointInfo:
    """What installing `path` would install; CheckpointError / WeightsError when it would be refused."""
    info = describe_checkpoint(path)
    if info.role == "partial":
        raise WeightsError(
            f"{path}: {kind_phrase(info.kind)} checkpoint that fills only {describe_parts(info.fills)} and leaves "
            f"{describe_parts(info.untrained)} untrained: neither a whole model nor a UMT encoder; not installed")
    return info


def install(path: str | os.PathLike, make_default: bool = True,
            progress: Callable[[int, int], None] | None = None) -> InstalledWeights:
    """Check `path`, copy it into the data folder (temporary file, then rename), record it and
    make it its role's default. Installing a file already installed (same sha256) copies nothing.
    `progress(bytes_done, bytes_total)` is called while copying."""
    source = Path(path)
    info = check(source)
    index = _read_index()
    index["entries"] = [e for e in index["entries"] if _entry_path(e).is_file()]   # files deleted by hand
    same = next((e for e in index["entries"] if e["sha256"] == info.sha256 and _entry_path(e).is_file()), None)
    if same is None:
        name = _free_name(index, source.name, info.sha256)
        entry = {"name": name, "kind": info.kind, "role": info.role, "preset": info.preset,
                 "parameters": info.parameters, "size": info.size, "sha256": info.sha256,
                 "source": str(source.resolve()), "installed": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        remove_stale_temporaries(_entry_path(entry).parent)    # the copies of installs that were killed
        _copy_checked(source, _entry_path(entry), info.sha256, progress)
        index["entries"] = [e for e in index["entries"] if e["name"] != name] + [entry]
    else:
        entry = same
    if make_default:
        index["defaults"][entry["role"]] = entry["name"]
    _write_index(index)
    return next(w for w in installed() if w.name == entry["name"])


def _free_name(index: dict, name: str, sha256: str) -> str:
    """The source's file name, or with a hash suffix when another file of that name is installed."""
    taken = {e["name"] for e in index["entries"]}
    if name in taken:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem}-{sha256[:8]}.{suffix}" if dot else f"{name}-{sha256[:8]}"
    return name


def _copy_checked(source: Path, target: Path, sha256: str, progress) -> None:
    """Copy to a temporary file beside `target`, hashing on the way; rename only if the bytes are
    the ones that were checked (the source may have changed meanwhile)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    total = source.stat().st_size
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        digest, done = hashlib.sha256(), 0
        with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
            while block := src.read(1 << 22):
                digest.update(block)
                dst.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
            dst.flush()
            os.fsync(dst.fileno())
        if digest.hexdigest() != sha256:
            raise WeightsError(f"{source}: the file changed while it was being installed; not installed")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def find(name: str) -> InstalledWeights:
    """An installed file by its name, or by a prefix of its sha256 (at least 6 characters)."""
    entries = installed()
    hits = [w for w in entries if w.name == name] or \
        [w for w in entries if len(name) >= 6 and w.sha256.startswith(name.lower())]
    if len(hits) != 1:
        known = ", ".join(w.name for w in entries) or "none installed"
        why = "is ambiguous" if hits else "is not installed"
        raise WeightsError(f"{name} {why} (installed: {known})")
    return hits[0]


def remove(name: str) -> InstalledWeights:
    """Delete an installed file and its entry; a removed default falls back to the newest other
    file of its role, or to none."""
    target = find(name)
    index = _read_index()
    index["entries"] = [e for e in index["entries"] if e["name"] != target.name]
    if index["defaults"].get(target.role) == target.name:
        del index["defaults"][target.role]
    _write_index(index)                # first the index: a crash leaves an orphan file, never a dangling entry
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target.path)
    return target


def looks_like_checkpoint(path: str | os.PathLike) -> bool:
    """A checkpoint by its suffix or its first bytes (torch.save writes a zip archive or a pickle)."""
    path = Path(path)
    if path.suffix.lower() in (".pth", ".pt", ".ckpt", ".bin", ".tar"):
        return True
    if not path.is_file():      # reading a named pipe would wait for a writer for ever
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


__all__ = ["InstalledWeights", "WeightsError", "CheckpointError", "data_dir", "weights_dir", "installed", "install",
           "check", "remove", "find", "default_checkpoint", "default_encoder", "default_path"]
