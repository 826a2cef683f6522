"""Content: spaces, charts, dashboards, comments, content as code (docs/architecture.md; decisions: docs/decisions.md)."""
