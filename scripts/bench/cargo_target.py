"""Cargo's target directory for the benchmark scripts: ``$CARGO_TARGET_DIR``
when set (made absolute against the current directory, as cargo reads it,
and exported back so that the cargo commands the scripts run agree),
else ``target/`` at the repository root. Costs nothing (no cargo call)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def target_dir() -> str:
    """The absolute target directory."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    if not configured:
        return os.path.join(ROOT, "target")
    absolute = os.path.abspath(configured)
    os.environ["CARGO_TARGET_DIR"] = absolute
    return absolute


def target_path(*parts: str) -> str:
    """A path inside the target directory, e.g. ``target_path("release", "novac")``."""
    return os.path.join(target_dir(), *parts)
