"""Jinja templates (autoescaped: a name or a rule holding markup is shown as text) and pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig

from greenlane.domain.staff import Area, StaffRole, may_open
from greenlane.services.staff import StaffSession

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# The console's sections, in the order of its navigation.
SECTIONS: tuple[tuple[Area, str, str], ...] = (
    ("today", "Today", "/console/"),
    ("reviews", "Review queue", "/console/reviews"),
    ("rules", "Rules", "/console/rules"),
    ("watchlist", "Watchlist", "/console/watchlist"),
    ("directory", "Partners & clients", "/console/directory"),
    ("agencies", "Agencies", "/console/agencies"),
    ("keys", "Keys", "/console/keys"),
    ("audit", "Audit", "/console/audit"),
)


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a misspelt name fails the test that renders it
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    return environment


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "—"


ENVIRONMENT = _environment()


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(ENVIRONMENT))


def sections(role: StaffRole) -> list[tuple[Area, str, str]]:
    return [section for section in SECTIONS if may_open(role, section[0])]


def page(
    name: str,
    staff: StaffSession | None,
    *,
    status: int = 200,
    section: Area | None = None,
    **context: Any,
) -> Template:
    """A whole page (``name`` extends base.html), or a fragment for htmx to swap in."""
    return Template(
        template_name=name,
        context={
            "staff": staff,
            "sections": sections(staff.role) if staff else [],
            "section": section,
            **context,
        },
        status_code=status,
    )


def render(name: str, **context: Any) -> bytes:
    """For answers the gate sends itself, before any handler (and its response) exists."""
    return (
        ENVIRONMENT.get_template(name)
        .render(staff=None, sections=[], section=None, **context)
        .encode()
    )
