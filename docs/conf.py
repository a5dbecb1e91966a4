"""Sphinx configuration for the smbclient-py documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "smbclient-py"
author = "The smbclient-py authors"
copyright = "2026, " + author
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"
html_theme = "alabaster"
exclude_patterns = ["_build"]
nitpicky = False
