"""Recognise a file's text encoding from its first bytes."""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass

from csvflow.exceptions import InvalidCsv

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The legacy encodings real-world exports come in, for charset-normalizer to choose among.
_LEGACY = ("cp1252", "cp1251", "shift_jis", "gb18030", "cp949", "big5")
# The double-byte encodings of East Asia: the same bytes often decode in several of them, each
# into characters of its own script; which one was meant is judged on the decoded text.
_EAST_ASIAN = ("gb18030", "big5", "cp949", "shift_jis")
# Decodings this close in plausibility are both readings of the text (then charset-normalizer's
# measure of mess, which knows the commonest Chinese characters, separates them, or nothing does).
_PLAUSIBLE_MARGIN = 0.1
_HALFWIDTH_KATAKANA = re.compile("[\uff61-\uff9f]")
# A reading whose characters are mostly rare ones of its script is not that script's text.
_PLAUSIBLE_AT_LEAST = 0.5
_MESS_MARGIN = 0.02
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

    sample = head[: 256 << 10]
    best = from_bytes(sample, cp_isolation=list(_LEGACY)).best()
    name = codecs.lookup(best.encoding).name if best else "cp1252"
    if name in _EAST_ASIAN or not best:
        # A lone byte like 0xA9 is a half-width katakana in Shift-JIS and "©" in cp1252: an
        # East Asian reading must give that script's common characters, or it is not one.
        name = _east_asian(sample, file=file) or "cp1252"
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


def _east_asian(sample: bytes, *, file: str) -> str | None:
    """The East Asian encoding whose decoding of ``sample`` reads as text of its own script,
    or None when none decodes it. The same bytes are often valid in several: Korean text is
    valid GBK (all ideographs), Japanese is valid CP949 (rare Hangul syllables). Each decoding
    is scored by the share of its characters that are the common ones of its script; where
    two are about as plausible, charset-normalizer's measure of mess decides, and where that
    cannot either the file is refused naming both readings."""
    decoded = {}
    for name in _EAST_ASIAN:
        try:
            decoded[name] = codecs.getincrementaldecoder(name)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
    if not decoded:
        return None
    scores = {name: _plausible_share(chars, name) for name, chars in decoded.items()}
    best = max(scores.values())
    if best < _PLAUSIBLE_AT_LEAST:
        return None
    close = [name for name, score in scores.items() if score >= best - _PLAUSIBLE_MARGIN]
    if len(close) == 1:
        return close[0]
    from charset_normalizer import from_bytes

    messes = sorted(
        (match.chaos, codecs.lookup(match.encoding).name)
        for match in from_bytes(sample, cp_isolation=close)
    )
    if len(messes) == 1 or (messes and messes[1][0] - messes[0][0] >= _MESS_MARGIN):
        return messes[0][1]
    first, second = (m[1] for m in messes[:2]) if len(messes) >= 2 else close[:2]
    raise InvalidCsv(
        f"the text is not UTF-8 and reads as well in {first} ({_example(decoded[first])}) as in "
        f"{second} ({_example(decoded[second])}); declare the encoding meant in the dataset "
        "contract (its encoding key)",
        file=file,
    )


def _plausible_share(text: str, encoding: str) -> float:
    """The share of ``text``'s non-ASCII characters that are common in ``encoding``'s script:
    Hangul syllables of KS X 1001 (CP949), hanzi and symbols of GB 2312 (GB18030), Big5's
    frequent hanzi and symbols, kana and JIS level-1 kanji and symbols (Shift-JIS). A wrong
    decoding lands in the rare rest: UHC's extra syllables, GBK's extension, Big5's less
    frequent block, level-2 kanji, half-width katakana without other Japanese."""
    others = [c for c in text if ord(c) > 0x7F]
    if not others:
        return 0.0
    common = sum(1 for c in others if _common(c, encoding))
    if encoding == "shift_jis" and common:
        # Half-width katakana (single bytes 0xA1-0xDF) are Japanese beside Japanese text (Japan
        # Post's address readings), and a lone accented Latin letter in a Western file.
        common += sum(1 for c in others if _HALFWIDTH_KATAKANA.match(c))
    return common / len(others)


@functools.lru_cache(maxsize=8192)
def _common(char: str, encoding: str) -> bool:
    try:
        if encoding == "cp949":
            return "\uac00" <= char <= "\ud7a3" and len(char.encode("euc_kr")) == 2
        if encoding == "gb18030":
            char.encode("gb2312")
            return True
        if encoding == "big5":
            return char.encode("big5")[0] <= 0xC6
        if encoding == "shift_jis":
            return char.encode("shift_jis")[0] <= 0x98
    except UnicodeEncodeError:
        return False
    return False


def _example(text: str) -> str:
    """The first few words of a decoding with characters beyond ASCII, to show the reading."""
    for word in re.split(r"[\s,;\t|]+", text):
        if any(ord(c) > 0x7F for c in word):
            return repr(word[:12])
    return repr(text[:12])
