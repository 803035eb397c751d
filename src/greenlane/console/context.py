"""What a console handler receives: one dependency, the signed-in person and their tools.

The gate has already checked the session, the role and the CSRF token; this only gathers what
the use cases need (as ``api/deps.py`` does for API clients) and the submitted form.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.plugins.htmx import HTMXRequest

from greenlane.api.deps import runtime_of
from greenlane.db.pool import Database
from greenlane.runtime import Runtime
from greenlane.services.applications import Deciding
from greenlane.services.staff import StaffSession


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    staff: StaffSession
    session_id: str
    runtime: Runtime
    form: FormMultiDict  # empty for a GET
    htmx: bool  # asked by htmx for a fragment, rather than by a plain form for a page

    @property
    def layout(self) -> str:
        """What a fragment's template extends: nothing for htmx, the whole page otherwise, so
        that every form also works without JavaScript."""
        return "_bare.html" if self.htmx else "base.html"

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def deciding(self) -> Deciding:
        return self.runtime.deciding

    @property
    def actor(self) -> str:
        return self.staff.actor

    def field(self, name: str) -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""


async def _console(request: HTMXRequest) -> ConsoleContext:
    staff: StaffSession = request.user
    session_id: str = request.auth
    form = await request.form() if request.method == "POST" else FormMultiDict()
    return ConsoleContext(
        staff, session_id, runtime_of(request.app.state), form, htmx=bool(request.htmx)
    )


DEPENDENCIES = {"console": Provide(_console)}
ConsoleDep = NamedDependency[ConsoleContext]
