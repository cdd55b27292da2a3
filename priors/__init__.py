"""Shipped priors files (TOML), installed as the package data ``kneebayes.priors``."""
