"""Checks over rendered documents; each module holds one check and reports Problems."""
