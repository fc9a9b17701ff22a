"""out/kubernetes/: the objects that deliver dashboards and rules to a cluster, and their checks.

names.py (syntax rules), schemas.py (the project's schemas and their validator), objects.py
(ConfigMaps, GrafanaDashboards, PrometheusRules), monitors.py (Pod/ServiceMonitors), sizes.py
(size limits), kustomization.py, manifests.py (puts them together). Nothing here writes files.
"""
