"""pytest set-up for the kernel tests: markers, and failing runs' consoles
and images copied to build/kernel-artifacts/<test id>/."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kharness  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "kernel: boots the real dm-era target under QEMU")
    config.addinivalue_line("markers", "kernel_fast: the subset `make check` runs")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when in ("setup", "call") and rep.failed:
        dirs = getattr(item, "kernel_dirs", [])
        if dirs:
            dest = kharness.keep_artifacts(item.nodeid.split("::", 1)[-1], dirs)
            rep.sections.append(("kernel artifacts", str(dest)))
            sys.stderr.write(f"\nkernel artifacts of {item.nodeid}: {dest}\n")


def pytest_sessionfinish(session, exitstatus):
    """Work images go (failures were copied to build/kernel-artifacts/);
    ERA_KEEP_WORK=1 keeps them."""
    import os
    import shutil
    if not os.environ.get("ERA_KEEP_WORK"):
        shutil.rmtree(kharness.WORK, ignore_errors=True)


@pytest.fixture
def kdirs(request):
    """Register directories (runs) to keep as artifacts if the test fails."""
    request.node.kernel_dirs = []
    return request.node.kernel_dirs
