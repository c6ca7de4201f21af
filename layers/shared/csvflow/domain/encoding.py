"""Recognise a file's text encoding from its first bytes."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from csvflow.exceptions import InvalidCsv

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The legacy encodings real-world exports come in, for charset-normalizer to choose among.
_LEGACY = ("cp1252", "cp1251", "shift_jis", "gb18030")
# A complete multi-byte UTF-8 character (2, 3 or 4 bytes).
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
# Cyrillic words in cp1251 are runs of bytes from 0xC0; Latin-1 text has lone accents.
_CYRILLIC_WORD = re.compile(rb"[\xc0-\xff]{3}")


@dataclass(frozen=True)
class Encoding:
    """A codec Python and Arrow both know, and the byte order mark before the text."""

    name: str
    bom: int = 0  # bytes of byte order mark to skip
    assumed: str | None = None  # a sentence, when the choice was a judgement


def detect_encoding(head: bytes, *, file: str, declared: str | None = None) -> Encoding:
    """The encoding of ``head``: its BOM, UTF-16's zero bytes, UTF-8, else a legacy one."""
    bom = next(((mark, name) for mark, name in _BOMS if head.startswith(mark)), None)
    if declared:
        try:
            name = codecs.lookup(declared).name
        except LookupError as e:
            raise InvalidCsv(f"unknown encoding {declared!r}", file=file) from e
        if name in ("utf-16", "utf-32", "utf-8-sig") and bom:
            return Encoding(bom[1], len(bom[0]))
        if name == "utf-8-sig":
            name = "utf-8"  # without its BOM, the same text
        skip = len(bom[0]) if bom and codecs.lookup(bom[1]).name == name else 0
        return Encoding(name, skip)
    if bom:
        return Encoding(bom[1], len(bom[0]))
    utf16 = _utf16_without_bom(head)
    if utf16:
        return Encoding(utf16, 0, f"the text is {utf16.upper()} without a byte order mark")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InvalidCsv(f"binary data: a NUL byte at offset {nul}", file=file)
    try:
        # The head may end inside a multi-byte character: decode what is complete.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return Encoding("utf-8")
    except UnicodeDecodeError as e:
        return _legacy(head, e, file=file)


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text of mostly ASCII characters has a zero in every other byte."""
    sample = head[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even = sample[0 : pairs * 2 : 2].count(0)
    odd = sample[1 : pairs * 2 : 2].count(0)
    for name, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= 0.3 * pairs and others <= 0.05 * pairs:
            try:
                codecs.getincrementaldecoder(name)().decode(head, final=False)
            except UnicodeDecodeError:
                return None
            return name
    return None


def _legacy(head: bytes, error: UnicodeDecodeError, *, file: str) -> Encoding:
    from charset_normalizer import from_bytes

    best = from_bytes(head[: 256 << 10], cp_isolation=list(_LEGACY)).best()
    name = codecs.lookup(best.encoding).name if best else "cp1252"
    if name == "cp1251" and not _CYRILLIC_WORD.search(head):
        name = "cp1252"  # a few accented letters are far likelier Western than Cyrillic
    if name == "cp1252":
        # UTF-8 sequences beside bytes UTF-8 rejects: two files (or two editors) joined.
        # Read as either encoding, part of it would silently turn into mojibake.
        utf8 = _UTF8_SEQUENCE.search(head)
        if utf8:
            raise InvalidCsv(
                f"mixed encodings: UTF-8 text (at byte offset {utf8.start()}) and a byte that is "
                f"not UTF-8 (0x{head[error.start]:02X} at byte offset {error.start}); convert the "
                "file to one encoding",
                file=file,
            ) from error
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            name = "latin-1"  # bytes Windows-1252 leaves undefined
    return Encoding(name, 0, f"the text is not UTF-8; read as {name}")
