"""Map the four wings (toolkit/, plugins/, datasets/, pipelines/) into the one `gantk` namespace.

pyproject.toml holds all metadata; this file only computes the package list so that new
sub-packages inside any wing are picked up without editing a list.
"""

from setuptools import find_packages, setup

WINGS = {"gantk": "toolkit", "gantk.plugins": "plugins",
         "gantk.datasets": "datasets", "gantk.pipelines": "pipelines"}

packages = []
package_dir = {}
for name, folder in WINGS.items():
    packages.append(name)
    package_dir[name] = folder
    for sub in find_packages(where=folder):
        packages.append(f"{name}.{sub}")
        package_dir[f"{name}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(packages=packages, package_dir=package_dir)
