from litestar import Litestar
from litestar.testing import TestClient

from .people import Person


def test_smoke(client: TestClient[Litestar], agency_admin: tuple[Person, str]) -> None:
    for path in [
        "/console/",
        "/console/reviews",
        "/console/rules",
        "/console/rules/new",
        "/console/watchlist",
        "/console/directory",
        "/console/keys",
        "/console/audit",
        "/console/audit/verify",
    ]:
        r = client.get(path)
        print(path, r.status_code, r.text[:3000] if r.status_code != 200 else "")
        assert r.status_code == 200, path
