"""Plots, the HTML report and the demo."""
