"""Packages for the wheel; everything else is in pyproject.toml.

The checkout's top-level `assets/` and `profiles/` travel inside the wheel as `app/_shipped/assets` and
`app/_shipped/profiles` (found by `app.shipped.shipped_dir`), so HTML export, themes, icons and
shipped profiles work from an installed wheel as from the checkout.
"""

from setuptools import find_packages, setup

SHIPPED = {"app._shipped.assets": "assets", "app._shipped.profiles": "profiles"}

setup(
    packages=find_packages(include=["app*", "engine*"]) + list(SHIPPED),
    package_dir=SHIPPED,
    package_data={
        "": ["*.toml", "*.ini", "*.mako", "*.html", "*.css", "*.js", "*.svg", "*.png", "*.qss"],
        "app._shipped.assets": ["ui/*", "report/*", "icons/*"],
        "app._shipped.profiles": ["*.toml", "*.md", "imports/*.toml"],
    },
)
