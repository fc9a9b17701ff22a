"""obsgen: monitoring as code for AI/ML GPU workloads."""

__version__ = "0.1.0"
