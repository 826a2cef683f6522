"""The server-rendered web UI: login, first-run setup and the General Settings pages."""
