"""Domain errors: each carries one message meant for a person; cli.py turns them into exits."""


class ObsgenError(Exception):
    """A problem the user can fix; the message names the file, key, module or rule."""


class SettingsError(ObsgenError):
    """obsgen.yaml is missing, unreadable or invalid."""


class ContentError(ObsgenError):
    """A dashboard or alert module failed to load, raised, or returned the wrong thing."""


class RenderError(ObsgenError):
    """Rendered documents are inconsistent (for example duplicate uids or rule-group names)."""
