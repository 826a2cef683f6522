"""The API client of `lightkeeper`: HTTP only, importing nothing of the server.

`http.py` (requests, authentication headers, errors), `config.py` (flags, environment, the
saved login), `output.py` (tables, JSON, progress), `content_files.py` (content as code),
`dbt_manifest.py` (dbt models to explores), `commands/` (one module per command group).
The import-linter contract in pyproject.toml keeps it that way.
"""
