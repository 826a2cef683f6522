"""The yardstick of the request-path benchmark: a bare FastAPI `async def` returning a constant.

Started by the benchmark with the same uvicorn (same event loop and HTTP parser) as
`lightkeeper serve`, so that a ratio to it measures only what Lightkeeper adds.
"""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app
