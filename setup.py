"""Packaging beyond pyproject.toml: resources/ stays at the top of the checkout (its one source) and is
carried inside the wheel as the package data of console._resources (found by console/resources.py)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["console", "console.*"]), "console._resources"],
    package_dir={"console._resources": "resources"},  # its files: [tool.setuptools.package-data]
)
