"""The pager keeps a list's filters in its links and counts rows from 1."""

from __future__ import annotations

from starlette.requests import Request

from permscope.web.paging import Pager, PageRequest


def _request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/ui/findings", "query_string": query.encode(),
                    "headers": [], "root_path": "/ui"})  # fmt: skip


def test_the_pager_keeps_filters_and_links_its_neighbours() -> None:
    pager = Pager.of(_request("severity=high&cloud=aws&page=2&size=10"), PageRequest(2, 10), 35)
    assert (pager.first_row, pager.last_row, pager.pages) == (11, 20, 4)
    assert pager.previous_href == "/ui/findings?severity=high&cloud=aws&size=10&page=1"
    assert pager.next_href == "/ui/findings?severity=high&cloud=aws&size=10&page=3"


def test_the_last_and_an_empty_page() -> None:
    last = Pager.of(_request("page=4"), PageRequest(4, 10), 35)
    assert (last.first_row, last.last_row, last.next_href) == (31, 35, None)
    empty = Pager.of(_request(""), PageRequest(1, 50), 0)
    assert (empty.first_row, empty.last_row, empty.pages, empty.previous_href, empty.next_href) == (
        0, 0, 1, None, None,
    )  # fmt: skip


def test_a_filter_value_is_encoded_in_the_links() -> None:
    pager = Pager.of(_request("q=a%26b%20c"), PageRequest(1, 10), 30)
    assert pager.next_href == "/ui/findings?q=a%26b+c&page=2"
