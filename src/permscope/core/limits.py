"""What one value read from a user's file may be: lengths, nesting, characters (docs/limits.md says why).

The same limits hold for every reader and every database, so that SQLite and PostgreSQL give the same answer
for the same file. Each is far above what AWS allows, and low enough for PostgreSQL to index two identifiers
in one key (an index entry holds at most 2,704 bytes).
"""

from __future__ import annotations

import orjson

from permscope.core.errors import InputError

# IAM names: users and roles at most 64 characters, groups, policies and inline policies 128.
MAX_NAME_BYTES = 256
# IAM ARNs: at most about 680 characters (a 512-character path and a 128-character name). Two ARNs and a name
# (an inline policy's id is its owner's ARN, `#inline/` and its name) must fit one PostgreSQL index entry.
MAX_ARN_BYTES = 1024
# IAM unique ids (AIDA..., AROA..., AKIA...): 16 to 128 characters.
MAX_ID_BYTES = 128
# Policy version ids: `v` and a number (v1 ... v5); the store keeps at most 64 characters.
MAX_VERSION_ID_BYTES = 64
# One policy document as compact JSON: AWS allows 6,144 characters for a managed policy, 10,240 for a role's
# inline policies, 20 KB for an S3 bucket policy and 32 KB for a KMS key policy.
MAX_DOCUMENT_BYTES = 1024 * 1024
# Any JSON value: nesting (exports nest about a dozen levels; orjson, which the store uses, writes at most 254),
# and the size of one stored JSON value (attributes, facts).
MAX_JSON_DEPTH = 254
MAX_JSON_BYTES = 64 * 1024 * 1024  # PostgreSQL keeps at most 256 MB in one JSONB value, SQLite 1 GB

SHOWN = 80  # characters of a refused value an error message shows

_ORJSON_PROBLEMS = (
    ("recursion limit", f"is nested more than {MAX_JSON_DEPTH} levels deep"),
    ("surrogates not allowed", "holds a lone surrogate (a \\ud800-\\udfff escape that is no character)"),
    ("64-bit", "holds an integer beyond 64 bits"),
)


def printable(text: str) -> str:
    """Text every terminal and database takes: a lone surrogate (a file name's undecodable byte, as Python
    gives it) and a NUL written as escapes."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def shown(value: str) -> str:
    """A refused value as an error message shows it: quoted, cut after SHOWN characters."""
    return repr(value) if len(value) <= SHOWN else f"{value[:SHOWN]!r}..."


def text_problem(value: str, limit: int) -> str | None:
    """What makes a text unfit to keep (a NUL, a lone surrogate, more than `limit` UTF-8 bytes), or None."""
    if "\x00" in value:
        return "holds a NUL character (\\u0000)"
    if value.isascii():
        size = len(value)
    else:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            return _ORJSON_PROBLEMS[1][1]
    if size > limit:
        return f"is {size:,} bytes long; the limit is {limit:,}"
    return None


def json_size(value: object) -> int:
    """The size of a JSON value as compact JSON; ValueError saying what makes it unfit to keep.

    Unfit: nested deeper than MAX_JSON_DEPTH, holding a lone surrogate, an integer beyond 64 bits or a NUL.
    """
    try:
        data = orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError
        text = str(exc)
        for clue, problem in _ORJSON_PROBLEMS:
            if clue in text.lower():
                raise ValueError(problem) from None
        raise ValueError(f"holds a value JSON cannot hold ({text})") from None
    if not nul_free(data):
        raise ValueError("holds a NUL character (\\u0000)")
    return len(data)


def nul_free(data: bytes) -> bool:
    """True when JSON written by orjson holds no NUL (the escape \\u0000: it writes no raw control character).

    A text without any backslash (most: one memchr) needs no search for the six-byte escape; a found one is a NUL
    only when the backslash starting it is not itself escaped (`\\\\u0000` is a backslash, then `u0000`).
    `find`, not `in`: bytes' `in` first tries its operand as an integer, raising and clearing a TypeError.
    """
    if data.find(b"\\") < 0:
        return True
    at = data.find(b"\\u0000")
    while at >= 0:
        start = at
        while start > 0 and data[start - 1] == 0x5C:  # the backslashes before it: an even run escapes it
            start -= 1
        if (at - start) % 2 == 0:  # this backslash starts an escape: a NUL
            return False
        at = data.find(b"\\u0000", at + 1)
    return True


def check_case(case: object, where: str) -> None:
    """InputError(where, "the case ...") when a case read from JSON fails `json_size` (how a simulated case is
    refused: nesting the engine and any JSON writer can follow, 64-bit numbers, NUL)."""
    try:
        json_size(case)
    except ValueError as error:
        raise InputError(where, f"the case {error}") from None


def json_problem(value: object, limit: int = MAX_JSON_BYTES) -> str | None:
    """What makes a JSON value unfit to keep (see `json_size`, or more than `limit` bytes), or None."""
    try:
        size = json_size(value)
    except ValueError as exc:
        return str(exc)
    if size > limit:
        return f"is {size:,} bytes of JSON; the limit is {limit:,}"
    return None
