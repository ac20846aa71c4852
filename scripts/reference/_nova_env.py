"""Shared set-up for the reference-expectation scripts.

Imports the reference NOVA engine (nova-hunting 0.3.1) from whatever Python
environment runs the script, with logging silenced and every route to a
semantic model or an LLM closed, so results depend on keywords only and are
reproducible offline.
"""

import os
import sys

EXPECTED_VERSION = "0.3.1"


def import_reference():
    """Return the `nova` package or exit with a clear message."""
    # Keep the reference quiet and offline before it is imported.
    os.environ.setdefault("NOVA_LOG_LEVEL", "CRITICAL")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY",
                "GROQ_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST"):
        os.environ.pop(key, None)
    # Make any attempt to load sentence-transformers / torch fail fast.
    sys.modules["sentence_transformers"] = None
    sys.modules["torch"] = None
    try:
        import nova  # noqa: F401
        from nova import _version
        import nova.core.matcher as matcher_mod
    except ImportError as exc:
        sys.exit(
            f"error: cannot import the reference engine 'nova' with {sys.executable}: {exc}\n"
            "Create a venv and install it first, e.g.:\n"
            "  python3 -m venv .venv && .venv/bin/pip install -r scripts/reference/requirements.txt\n"
            "then run this script with .venv/bin/python."
        )
    version = getattr(_version, "__version__", None) or getattr(_version, "version", None)
    if version != EXPECTED_VERSION:
        print(f"warning: nova-hunting {version} found, expectations are defined for "
              f"{EXPECTED_VERSION}", file=sys.stderr)
    # No semantic evaluator: semantic-dependent rules must fail closed.
    matcher_mod._get_semantic_evaluator_class = lambda: None
    return nova


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
