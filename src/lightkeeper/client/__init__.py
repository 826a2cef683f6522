"""The API client: HTTP only, importing nothing of the server (docs/architecture.md)."""
