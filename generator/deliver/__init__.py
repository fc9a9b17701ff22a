"""Delivery: the only code that writes to disk, Grafana or Kubernetes."""
