"""Paging of the UI's lists: `?page=` and `?size=` (at most 200) as GET parameters, so every view is a URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Query, Request

DEFAULT_SIZE = 50
MAX_SIZE = 200


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page of a list is asked for."""

    page: int
    size: int

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.size


def page_request(
    page: int = Query(1, ge=1, le=1_000_000, description="Page number, from 1"),
    size: int = Query(DEFAULT_SIZE, ge=1, le=MAX_SIZE, description=f"Rows per page (at most {MAX_SIZE})"),
) -> PageRequest:
    """Dependency: the page a list route is asked for."""
    return PageRequest(page, size)


@dataclass(frozen=True, slots=True)
class Pager:
    """What the pager macro shows: where this page is in `total` rows, and the links to its neighbours (the
    request's other parameters, its filters, kept)."""

    page: int
    size: int
    total: int
    first_row: int
    last_row: int
    pages: int
    previous_href: str | None
    next_href: str | None

    @classmethod
    def of(cls, request: Request, asked: PageRequest, total: int) -> Pager:
        """The pager of page `asked` of `total` rows (counted with SQL COUNT by the caller)."""
        pages = max(1, -(-total // asked.size))
        kept = [(key, value) for key, value in request.query_params.multi_items() if key != "page"]

        def href(page: int) -> str:
            return f"{request.url.path}?{urlencode([*kept, ('page', str(page))])}"

        return cls(
            page=asked.page,
            size=asked.size,
            total=total,
            first_row=min(total, asked.offset + 1),
            last_row=min(total, asked.offset + asked.size),
            pages=pages,
            previous_href=href(asked.page - 1) if asked.page > 1 else None,
            next_href=href(asked.page + 1) if asked.page < pages else None,
        )
