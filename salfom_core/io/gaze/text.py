"""Reading tracker exports as text: the encoding from the bytes, lines in blocks, numbers in bulk.

Exports come as UTF-8 (with or without a BOM) or UTF-16 (Tobii's "16-bit" option: a BOM; some
tools write none). A file that is none of these, or binary, is one `GazeError` naming the line.
Big files are read in blocks of lines, so memory stays bounded whatever the file's size.
"""
from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ...errors import GazeError

BLOCK_BYTES = 1 << 22
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """(encoding, length of its BOM) from a file's first bytes."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    sample = head[:4096]
    if len(sample) >= 8:
        # UTF-16 without a BOM: the ASCII text of a header has a NUL in every other byte
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) // 4 and even == 0:
            return "utf-16-le", 0
        if even > len(sample) // 4 and odd == 0:
            return "utf-16-be", 0
    return "utf-8", 0


def read_head(path: str | os.PathLike, n_bytes: int = 1 << 16) -> str:
    """The file's first bytes as text (bad bytes replaced): enough to recognise a format."""
    with open(path, "rb") as fh:
        head = fh.read(n_bytes)
    encoding, skip = sniff_encoding(head)
    if encoding.startswith("utf-16"):
        head = head[: len(head) - (len(head) - skip) % 2]
    return head[skip:].decode(encoding, errors="replace")



def open_text_file(path: Path):
    """The file opened for reading bytes; a GazeError naming it when it cannot be."""
    try:
        return open(path, "rb")
    except OSError as exc:
        raise GazeError(f"{path}: cannot read ({exc.strerror or exc})") from None


def sniff_text(path: Path, head: bytes, export_as: str) -> tuple[str, int]:
    """(encoding, BOM length) of a text export from its first bytes; a GazeError for a binary file."""
    encoding, skip = sniff_encoding(head)
    if encoding == "utf-8" and b"\x00" in head[:4096]:
        raise GazeError(f"{path}: not a text file (binary bytes at the start): export the data as text ({export_as})")
    return encoding, skip


class Lines:
    """The lines of a text file, block by block (`for block in Lines(path)`: lists of str).

    After the loop, `complete` says whether the last line ended with a newline (a file cut while
    it was written does not), `count` is the number of lines and `last` the last line.
    `fallback` names an 8-bit encoding for files that are not UTF-8 (None: such a file is an error).
    """

    def __init__(self, path: str | os.PathLike, fallback: str | None = None, block_bytes: int = BLOCK_BYTES):
        self.path, self.fallback, self.block_bytes = Path(path), fallback, block_bytes
        self.complete, self.count, self.last, self.encoding = True, 0, "", "utf-8"

    def __iter__(self) -> Iterator[list[str]]:
        with open_text_file(self.path) as fh:
            head = fh.read(self.block_bytes)
            encoding, skip = sniff_text(self.path, head, "TSV, CSV or ASC")
            if encoding == "utf-8" and self.fallback and not _is_utf8(head):
                encoding = self.fallback
            self.encoding = encoding
            decoder = codecs.getincrementaldecoder(encoding)()
            rest, data = "", head[skip:]
            while data:
                text = self._decode(decoder, data, final=False)
                yield from self._split(rest + text)
                rest = self._rest
                data = fh.read(self.block_bytes)
            text = rest + self._decode(decoder, b"", final=True)
            self.complete = text == ""
            if text:
                lines = text.replace("\r\n", "\n").split("\n")
                self.count += len(lines)
                self.last = lines[-1] if lines[-1] else (lines[-2] if len(lines) > 1 else "")
                yield lines

    def _split(self, text: str) -> Iterator[list[str]]:
        cut = text.rfind("\n")
        self._rest = text[cut + 1:]
        if cut < 0:
            return
        body = text[:cut]
        if "\r" in body:
            body = body.replace("\r\n", "\n").removesuffix("\r")
        lines = body.split("\n")
        self.count += len(lines)
        self.last = lines[-1]
        yield lines

    def _decode(self, decoder, data: bytes, final: bool) -> str:
        try:
            return decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            line = self.count + data[: exc.start].count(b"\n") + 1
            bad = data[exc.start: exc.start + 1].hex()
            raise GazeError(f"{self.path}: not {_encoding_name(self.encoding)} text (byte 0x{bad} on line {line}): "
                            "export it again as UTF-8 or UTF-16, or convert it to UTF-8") from None


def _is_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3          # a character cut at the block's end is still UTF-8
    return True


def _encoding_name(encoding: str) -> str:
    return "UTF-16" if encoding.startswith("utf-16") else "UTF-8"


def read_lines(path: str | os.PathLike, fallback: str | None = None) -> tuple[list[str], Lines]:
    """Every line of a (small) text file, and the reader (for `complete`, `count`)."""
    reader = Lines(path, fallback)
    lines: list[str] = []
    for block in reader:
        lines += block
    return lines, reader


def cut_error(path, line: int, found: int, expected: int) -> GazeError:
    return GazeError(f"{path}: the file is cut at line {line} (its last row has {found} of {expected} "
                     "columns and no line end): the export did not finish; export it again")


# --------------------------------------------------------------------------- numbers in bulk


def to_floats(values: list[str], comma_decimal: bool = False) -> np.ndarray:
    """Strings to float64; an empty or unreadable string becomes NaN (vectorised when all parse)."""
    if comma_decimal:
        values = [v.replace(",", ".") for v in values]
    try:
        return np.array([v or "nan" for v in values], dtype=np.float64)
    except ValueError:
        return np.array([_float_or_nan(v) for v in values], dtype=np.float64)


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def codes(values: list[str], names: dict[str, int]) -> np.ndarray:
    """Strings to int32 codes, new names added to `names` in order of appearance."""
    get = names.setdefault
    return np.fromiter((get(v, len(names)) for v in values), dtype=np.int32, count=len(values))


def looks_comma_decimal(samples: list[str]) -> bool | None:
    """Numbers written `0,4821` (a comma-decimal locale) rather than `0.4821`; None: no decimals seen."""
    with_comma = sum(1 for s in samples if "," in s and s.replace(",", "", 1).lstrip("-").isdigit())
    with_point = sum(1 for s in samples if "." in s)
    if with_comma == with_point == 0:
        return None
    return with_comma > with_point


# --------------------------------------------------------------------------- CSV tables


def read_table(path: str | os.PathLike, required: tuple[str, ...] = (), delimiter: str | None = None,
               comment: str | None = "#") -> tuple[list[str], dict[str, list[str]], int]:
    """(header, columns by header name, rows skipped) of a delimited text file.

    The delimiter is sniffed from the header (comma, semicolon or tab) unless given; lines
    starting with `comment` are skipped; `required` columns are checked (the message lists the
    columns found); a short last row without a line end is a cut file; other short rows are skipped."""
    import csv
    import io

    path = Path(path)
    lines, reader = read_lines(path, fallback="cp1252")
    body = [line for line in lines if line.strip() and not (comment and line.startswith(comment))]
    if not body:
        raise GazeError(f"{path}: empty file")
    delimiter = delimiter or sniff_delimiter(body[0])
    rows = list(csv.reader(io.StringIO("\n".join(body)), delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise GazeError(f"{path}: no column {', '.join(repr(m) for m in missing)}; it has: "
                        f"{', '.join(h for h in header if h) or 'none'}")
    data = rows[1:]
    if data and not reader.complete and len(data[-1]) < len(header):
        raise cut_error(path, reader.count, len(data[-1]), len(header))
    whole = [r for r in data if len(r) >= len(header)]
    columns = {name: [r[i] for r in whole] for i, name in enumerate(header)}
    return header, columns, len(data) - len(whole)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: the most frequent of comma, semicolon and tab."""
    return max((",", ";", "\t"), key=header_line.count)


# --------------------------------------------------------------------------- big tables, column by column


class ByteTable:
    """A delimited text file with a header row, read in blocks as columns of byte strings.

    Only the wanted columns are cut out of each block, with numpy (no Python object per field):
    a block whose rows all have the header's number of fields is split in a few array passes;
    another block (a short row, a blank line) goes row by row, keeping the rows with every
    field. Text is UTF-8 (BOM or not) or UTF-16 (converted to UTF-8 block by block); anything
    else is a GazeError naming the line. After the loop: `header`, `count` (lines), `skipped`
    (short rows), `complete` (the file ended with a line end)."""

    def __init__(self, path: str | os.PathLike, delimiter: str = "\t", block_bytes: int = BLOCK_BYTES):
        self.path, self.delimiter, self.block_bytes = Path(path), delimiter, block_bytes
        self.header: list[str] | None = None
        self.count, self.skipped, self.complete = 0, 0, True

    def blocks(self, choose) -> Iterator["Block"]:
        """Per block its wanted columns; `choose(header)` says which, once, as {index: "number" |
        "label" | "sparse" | "few"} (see `split_columns`; "few": only read with `Block.field`)."""
        wanted = None
        for raw in self._raw_blocks():
            if self.header is None:
                first, _, raw = raw.partition(b"\n")
                self.header = first.decode("utf-8").split(self.delimiter)
                wanted = choose(self.header)
                if not raw:
                    continue
            block = split_columns(raw, len(self.header), wanted, ord(self.delimiter))
            if block is None:
                block = self._row_by_row(raw, wanted)
            if block.rows:
                yield block

    def _row_by_row(self, raw: bytes, wanted: dict[int, str]) -> "Block":
        width = len(self.header)
        rows = [line.split(self.delimiter.encode()) for line in raw.split(b"\n") if line.strip()]
        if rows and not self.complete and self._in_last_block and len(rows[-1]) < width:
            raise cut_error(self.path, self.count, len(rows[-1]), width)
        whole = [r for r in rows if len(r) >= width]
        self.skipped += len(rows) - len(whole)
        columns = {}
        for c, kind in wanted.items():
            values = np.array([r[c] for r in whole], dtype="S") if whole else np.empty(0, dtype="S3")
            columns[c] = np.where(values == b"", b"nan", values) if kind == "number" else values
        return Block(len(whole), columns, lambda c, at: [whole[i][c] for i in at])

    def _raw_blocks(self) -> Iterator[bytes]:
        self._in_last_block = False
        with open_text_file(self.path) as fh:
            data = fh.read(self.block_bytes)
            encoding, skip = sniff_text(self.path, data, "TSV")
            data = data[skip:]
            decoder = codecs.getincrementaldecoder(encoding)()
            rest = b""
            while True:
                final = not data
                text = self._checked(decoder, data, final, encoding)
                text = rest + text
                if final:
                    block, rest = text, b""
                    self.complete = block == b""
                    self._in_last_block = True
                else:
                    cut = text.rfind(b"\n")
                    if cut < 0:
                        rest, data = text, fh.read(self.block_bytes)
                        continue
                    block, rest = text[:cut], text[cut + 1:]
                if block:
                    if b"\r" in block:         # CRLF line ends (the block's own last one is cut off already)
                        block = block.replace(b"\r\n", b"\n").removesuffix(b"\r")
                    self.count += block.count(b"\n") + 1
                    yield block
                if final:
                    return
                data = fh.read(self.block_bytes)

    def _checked(self, decoder, data: bytes, final: bool, encoding: str) -> bytes:
        """UTF-8 bytes of `data` (checked; UTF-16 converted); a GazeError names the first bad line."""
        try:
            text = decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            line = self.count + data[: exc.start].count(b"\n") + 1
            bad = data[exc.start:exc.start + 1].hex()
            raise GazeError(f"{self.path}: not {_encoding_name(encoding)} text (byte 0x{bad} "
                            f"on line {line}): export it again as UTF-8 or UTF-16, or convert it to UTF-8") from None
        return data if encoding == "utf-8" else text.encode("utf-8")


@dataclass
class Block:
    """Rows of a table: `columns` {index: 'S' array}; `field(index, rows)` reads a few fields."""

    rows: int
    columns: dict[int, np.ndarray]
    field: Callable[[int, list[int]], list[bytes]]


PAD = 256      # zero bytes after a block: a field's gather never reads past the buffer


def split_columns(block: bytes, width: int, wanted, delimiter: int = 9) -> Block | None:
    """The wanted columns of a block of rows (no final line end) as 'S' arrays; None when not
    every row has exactly `width` fields (the caller then goes row by row).

    `wanted` maps a column index to "number" (an empty field becomes b"nan"), "label" or
    "sparse" (a label column that is mostly empty: only its filled rows are gathered)."""
    if delimiter != 9 or b"\x00" in block[:1]:
        return None
    buf = np.frombuffer(block + b"\n" + bytes(PAD), dtype=np.uint8)
    marks = np.flatnonzero(buf[: len(block) + 1] < 11)          # tabs and line ends (and stray controls)
    rows = len(marks) // width
    if len(marks) != rows * width:
        return None
    ends = marks.reshape(rows, width)
    # every row ends at a line end and has width - 1 tabs before it
    if not (buf[ends[:, -1]] == 10).all() or np.count_nonzero(buf[marks] == 9) != rows * (width - 1):
        return None
    def starts(c: int) -> np.ndarray:
        return ends[:, c - 1] + 1 if c else np.concatenate([[0], ends[:-1, -1] + 1])

    def field(c: int, at: list[int]) -> list[bytes]:
        first, end = starts(c)[at], ends[at, c]
        return [bytes(buf[a:b]) for a, b in zip(first.tolist(), end.tolist())]

    out = {}
    for c, kind in wanted.items():
        if kind != "few":
            first = starts(c)
            out[c] = _gather(buf, first, ends[:, c] - first, kind)
    return Block(rows, out, field)


def _gather(buf: np.ndarray, first: np.ndarray, lengths: np.ndarray, kind: str) -> np.ndarray:
    """Fields (first byte, length) of `buf` as an 'S' array."""
    longest = int(lengths.max()) if len(lengths) else 0
    if kind == "sparse":
        filled = np.flatnonzero(lengths)
        out = np.zeros(len(first), dtype=f"S{max(longest, 1)}")
        if len(filled):
            out[filled] = _gather(buf, first[filled], lengths[filled], "label")
        return out
    if longest > PAD:
        return np.array([bytes(buf[a:a + n]) for a, n in zip(first.tolist(), lengths.tolist())], dtype="S")
    width = max(longest, 3 if kind == "number" else 1)
    offsets = np.arange(width)
    chars = buf[first[:, None] + offsets]
    chars[offsets >= lengths[:, None]] = 0            # 'S' strings end at their first NUL
    if kind == "number":
        chars[lengths == 0, :3] = np.frombuffer(b"nan", dtype=np.uint8)
    return chars.view(f"S{width}").ravel()


def bytes_to_floats(values: np.ndarray, comma_decimal: bool = False) -> np.ndarray:
    """'S' strings to float64: empty or unreadable ones become NaN; `0,5` read with `comma_decimal`."""
    if comma_decimal:
        values = values.copy()
        view = values.view(np.uint8)
        view[view == 44] = 46
    if (values == b"").any():
        values = np.where(values == b"", b"nan", values)
    try:
        return values.astype(np.float64)
    except ValueError:
        return np.array([_float_or_nan(v.decode("utf-8", "replace")) for v in values.tolist()], dtype=np.float64)


def bytes_to_codes(values: np.ndarray, names: dict[bytes, int]) -> np.ndarray:
    """'S' strings to int32 codes (runs of equal values coded once); new values join `names`."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int32)
    heads = np.concatenate([[0], np.flatnonzero(values[1:] != values[:-1]) + 1])
    get = names.setdefault
    run_codes = np.array([get(v.strip(), len(names)) for v in values[heads].tolist()], dtype=np.int32)
    return np.repeat(run_codes, np.diff(np.concatenate([heads, [len(values)]])))


def has_comma_decimals(columns: list[np.ndarray]) -> bool | None:
    """Whether numbers are written `0,4821`; None when no decimals were seen."""
    commas = points = 0
    for values in columns:
        sample = values[:2000]
        commas += int((np.char.find(sample, b",") >= 0).sum())
        points += int((np.char.find(sample, b".") >= 0).sum())
    if commas == points == 0:
        return None
    return commas > points
