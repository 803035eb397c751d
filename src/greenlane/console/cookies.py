"""The console's cookies: names and attributes from where the console is served.

Over https the session cookie is ``__Host-`` prefixed (the browser then insists on ``Secure``,
``Path=/`` and no ``Domain``, so no sibling host can set or shadow it); on plain-http localhost
development, which the settings allow only for this machine, it cannot be ``Secure``.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import Cookie

from greenlane.domain.staff import ABSOLUTE_TIMEOUT


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    secure: bool

    def _name(self, base: str) -> str:
        return f"__Host-{base}" if self.secure else base

    @property
    def session(self) -> str:
        return self._name("greenlane-session")

    @property
    def form(self) -> str:
        """The double-submit token of the forms shown before sign-in (sign in, enrol)."""
        return self._name("greenlane-form")

    def cookie(self, name: str, value: str, *, max_age: int | None = None) -> Cookie:
        return Cookie(
            key=name,
            value=value,
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="strict",
            max_age=max_age,
        )

    def session_cookie(self, session_id: str) -> Cookie:
        # The server ends the session sooner when idle; the cookie never outlives its maximum.
        return self.cookie(self.session, session_id, max_age=int(ABSOLUTE_TIMEOUT.total_seconds()))

    def cleared(self, name: str) -> Cookie:
        return self.cookie(name, "", max_age=0)


def policy_for(console_url: str) -> CookiePolicy:
    return CookiePolicy(secure=console_url.startswith("https://"))
