"""Datasets: specs, TSV loading, dev splits, validation and fetching."""
