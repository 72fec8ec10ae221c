"""Suite-wide settings (offline, quiet, deterministic) and the fixtures several test folders share."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine threads fight: use one.

    Use it for a whole module with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root: where ``recipes/`` and ``hf_ext/`` are, and where subprocesses run."""
    return REPO_ROOT


def _subprocess_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),  # the checkout's hf_ext, even when another copy is installed
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


@pytest.fixture(scope="session")
def subprocess_env():
    """``subprocess_env(**extra)``: the environment for a child Python that must import this checkout."""
    return _subprocess_env


@pytest.fixture(scope="session")
def run_hf_ext():
    """``run_hf_ext(*args, cwd=REPO_ROOT, timeout=300, **env)``: ``python -m hf_ext.cli ARGS`` in a child
    process, returning the ``CompletedProcess`` with text stdout and stderr."""

    def run(*args, cwd=REPO_ROOT, timeout=300, **env):
        return subprocess.run(
            [sys.executable, "-m", "hf_ext.cli", *map(str, args)],
            cwd=cwd,
            env=_subprocess_env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def run_torchrun():
    """``run_torchrun(*args, timeout=300)``: ``python -m torch.distributed.run --nproc_per_node 2 ARGS`` on a
    free port (two gloo processes on CPU; see NOTES.md on why not ``accelerate launch --cpu``)."""

    def run(*args, timeout=300):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
        return subprocess.run(
            [*command, "--master_port", str(port), *map(str, args)],
            cwd=REPO_ROOT,
            env=_subprocess_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
