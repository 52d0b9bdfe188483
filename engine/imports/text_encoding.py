"""An import file's text: UTF-8 (with or without a BOM), else GB18030 as a Chinese Excel
saves it — unless, read so, it reads as Western text in another encoding — or the encoding
given."""
from __future__ import annotations

import codecs
import re

from engine.imports.file_refusal import refuse
from metadata.fieldtypes import show

ENCODINGS = ("utf-8-sig", "gb18030")  # tried in this order when none is given


def decode(data: bytes, encoding: str | None) -> str:
    if encoding:
        try:
            # any spelling of UTF-8 reads a BOM (Excel writes one) as no text
            return data.decode("utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding)
        except LookupError:
            raise refuse(f"unknown encoding {encoding!r}", "encoding") from None
        except UnicodeDecodeError as exc:
            raise refuse(f"the file is not {encoding}: byte {exc.start} cannot be read", "encoding") from None
    for name in ENCODINGS:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if name == "gb18030" and not _reads_as_chinese(text):
            raise refuse("the file is not UTF-8, and read as GB18030 it holds mostly rare characters "
                         f"({_rare_sample(text)}): it is likely in another encoding, such as Windows-1252 "
                         "(cp1252) for Western European text; give its encoding (--encoding; in the API, the "
                         "encoding field) — gb18030 too, if the text really is so", "encoding")
        return text
    raise refuse("the file's encoding is neither UTF-8 nor GB18030: give its encoding (--encoding; in the API, "
                 "the encoding field)", "encoding")


SAMPLE = 100_000  # characters of a file GB18030's reading is judged by


_BY_LATIN = re.compile(r"(?<=[A-Za-z])[^\x00-\x7f]|[^\x00-\x7f](?=[A-Za-z])")


def _reads_as_chinese(text: str) -> bool:
    """Whether `text`, read as GB18030, reads as Chinese rather than as Western text in
    another encoding: refused only on both signs of the latter. Read as GB18030, cp1252's
    "Müller" is "M黮ler" and "Élodie" is "蒷odie" — an accented letter and the letter after
    it make one character GB2312's common ones do not have, touching a Latin letter. Chinese
    text holds mostly common characters (traditional Chinese does not, but seldom touching
    Latin letters); symbols and emoji count for neither."""
    sample = text[:SAMPLE]
    letters = [c for c in sample if not c.isascii() and c.isalpha()]
    if not letters:
        return True
    common = len("".join(letters).encode("gb2312", "ignore")) // 2
    by_latin = len(_BY_LATIN.findall(sample))
    return common * 2 >= len(letters) or by_latin * 4 < len(letters)


def _rare_sample(text: str) -> str:
    words = [w for w in text[:SAMPLE].split() if not w.isascii()][:3]
    return ", ".join(show(w[:30]) for w in words)
