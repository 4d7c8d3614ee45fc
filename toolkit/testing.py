"""Testing a plugin package for real: a throwaway virtual environment that sees everything
the current one does (gantk, torch, ...), into which a package is `pip install`ed and from
which it is uninstalled, without touching the current environment or the network.

    env = PluginEnv(tmp_path / "venv")
    env.install("path/to/my-gantk-plugin")
    doc = json.loads(env.gantk("plugins", "--json").stdout)

The contract checkers (`check_architecture`, `check_loss`, `check_dataset`, from
gantk.contract.conformance) check a registered item by name in a plugin's own tests.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

from gantk.contract.conformance import check_architecture, check_dataset, check_loss
from gantk.errors import GantkError

__all__ = ["PluginEnv", "check_architecture", "check_dataset", "check_loss"]

INHERIT_PTH = "_gantk_inherit_parent.pth"


class PluginEnv:
    """A child venv layered over this interpreter's environment.

    Its own site-packages comes first on `sys.path`, so what is installed there (and only
    that) can be uninstalled again; the parent's site directories follow, added with
    `site.addsitedir` so that their `.pth` files (editable installs) still apply.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(self.root)
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.python = self.root / bindir / ("python.exe" if os.name == "nt" else "python")
        own = self.run([str(self.python), "-c", "import sysconfig; "
                         "print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
        self.site_packages = Path(own)
        parents = [p for p in _parent_site_dirs() if Path(p) != self.site_packages]
        (self.site_packages / INHERIT_PTH).write_text(
            f"import site; list(map(site.addsitedir, {parents!r}))\n")

    def run(self, args: list[str], env: dict[str, str] | None = None,
            check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run a command with this environment's variables (`args[0]`: e.g. `self.python`)."""
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(args, capture_output=True, text=True, env=full_env,
                              timeout=timeout)
        if check and proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise GantkError(f"{' '.join(args[:4])}… failed ({proc.returncode}): {last}")
        return proc

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        """pip, offline and without side effects: no index, no cache (parallel test runs
        share nothing), no dependency resolution, no isolated build env."""
        return self.run([str(self.python), "-m", "pip", "--disable-pip-version-check",
                         "--no-input", "--no-cache-dir", *args], env={"PIP_NO_INDEX": "1"})

    def install(self, project: str | os.PathLike[str]) -> None:
        """pip-install a project directory; it is copied first so that the build leaves
        nothing (build/, *.egg-info) in the source tree."""
        src = Path(project)
        copy = self.root / "src" / src.name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__", ".venv"))
        self.pip("install", "--no-deps", "--no-build-isolation", "--quiet", str(copy))

    def uninstall(self, distribution: str) -> None:
        self.pip("uninstall", "--yes", "--quiet", distribution)

    def gantk(self, *args: str, env: dict[str, str] | None = None, check: bool = False,
              timeout: float = 600) -> subprocess.CompletedProcess:
        """Run the `gantk` CLI inside this environment."""
        return self.run([str(self.python), "-m", "gantk", *args], env=env, check=check,
                         timeout=timeout)


def _parent_site_dirs() -> list[str]:
    """The running interpreter's site directories, in order (venv or system)."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if os.path.isdir(d)] or [p for p in sys.path if p.endswith(
        "site-packages")]
