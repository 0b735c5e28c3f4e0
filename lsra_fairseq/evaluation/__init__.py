"""Scoring and result files shared by the recipes' test targets."""
