from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.content.helpers import World, build_world


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(client, runtime)
