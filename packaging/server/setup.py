"""The package list of perkpass-server: backend and every folder under it (static files and migrations
included), plus backend.bundled_assets, a package mapped onto the repository's assets/ folder by
pyproject.toml's package-dir, which no discovery can find."""
from setuptools import find_namespace_packages, setup

backend = find_namespace_packages("../..", include=["backend", "backend.*"], exclude=["*.__pycache__"])
setup(packages=[*backend, "backend.bundled_assets", "backend.bundled_assets.schemes"])
