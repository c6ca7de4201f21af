"""What kind of value a CSV cell's text looks like: evidence for detection, not validation.

A reading of a file whose cells mostly look like something (a number, a date, a word) is
more likely the intended one than a reading that leaves fragments of quoted text and
delimiters in its cells (CleverCSV's type score, van den Burg et al. 2019).
"""

from __future__ import annotations

import functools
import re

EMPTY = "empty"
NUMBER = "number"
TEMPORAL = "temporal"
BOOL = "bool"
TEXT = "text"
OTHER = "other"

# Kinds a column of data is typed by: a header name above them is not one of them.
TYPED = frozenset({NUMBER, TEMPORAL, BOOL})

_NUMBER = re.compile(
    r"[-+]?[$€£¥]?\s?"
    r"(\d{1,3}(,\d{3})+(\.\d+)?|\d{1,3}(\.\d{3})+(,\d+)?|\d{1,3}( \d{3})+([.,]\d+)?"
    r"|\d+([.,]\d+)?|[.,]\d+)"
    r"([eE][-+]?\d+)?\s?[%‰]?[$€£¥]?|[-+]?(inf|infinity|nan)",
    re.IGNORECASE,
)
_DATE = (
    r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](\d{4}|\d{2})"
    r"|\d{1,2}[- ][A-Za-z]{3,9}[- ]\d{2,4}|\d{8})"
)
_TIME = r"\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?(\s?[AaPp]\.?[Mm]\.?)?"
# A year and its month after a colon, as econometrics packages write monthly dates (gretl's
# and RATS' "1923:06").
_YEAR_MONTH = r"(18|19|20)\d\d:(0[1-9]|1[0-2])"
_TEMPORAL = re.compile(
    rf"{_DATE}([T ]{_TIME}(Z|[-+]\d{{2}}:?\d{{2}}|\s?[A-Z]{{3}})?)?|{_TIME}|{_YEAR_MONTH}",
    re.IGNORECASE,
)
_BOOL = re.compile(r"true|false|yes|no|t|f|y|n", re.IGNORECASE)
_NA = re.compile(r"na|n/a|null|none|nil|#n/a|-|--|\?|\.", re.IGNORECASE)
# Words and phrases: letters, digits, spaces and the punctuation of names and labels.
# Not the candidate delimiters or quote characters, which in a cell hint at a misreading.
_TEXT = re.compile(r"[^\W_][\w .\-'()/&+%°!?*@$€£¥=<>~\[\]{}^]*", re.UNICODE)
_URL = re.compile(r"(https?|ftp)://\S+|[\w.+-]+@[\w-]+\.[\w.-]+|www\.\S+", re.IGNORECASE)


@functools.lru_cache(maxsize=65536)
def cell_kind(value: str) -> str:
    """The kind of value ``value`` looks like (surrounding spaces ignored)."""
    text = value.strip()
    if not text or _NA.fullmatch(text):
        return EMPTY
    if _NUMBER.fullmatch(text):
        return NUMBER
    if _TEMPORAL.fullmatch(text):
        return TEMPORAL
    if _BOOL.fullmatch(text):
        return BOOL
    if _TEXT.fullmatch(text) or _URL.fullmatch(text):
        return TEXT
    return OTHER


def is_known(value: str) -> bool:
    """Whether the cell looks like a value of some kind (not a fragment of a misreading)."""
    return cell_kind(value) != OTHER
