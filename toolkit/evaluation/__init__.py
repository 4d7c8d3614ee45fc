"""Running registered evaluations and visualizations on trained runs."""
