"""A tiny, valid PDF written by hand, so PDF ingestion is tested on real bytes without a PDF library."""

from __future__ import annotations

__all__ = ["make_pdf"]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], *, title: str | None = None, author: str | None = None) -> bytes:
    """A PDF whose pages show the given lines in Helvetica, one line per text row."""
    objects: list[bytes] = []  # object n is objects[n - 1]
    page_count = len(pages)
    first_page = 4  # 1 catalog, 2 pages, 3 font, then a page and its content stream per page
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(page_count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, lines in enumerate(pages):
        content_ref = first_page + 2 * i + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
            f" /Contents {content_ref} 0 R >>".encode()
        )
        rows = ["BT", "/F1 11 Tf", "14 TL", "60 740 Td"]
        for line in lines:
            rows.append(f"({_escape(line)}) Tj T*")
        rows.append("ET")
        stream = "\n".join(rows).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    info_ref = None
    if title or author:
        fields = []
        if title:
            fields.append(f"/Title ({_escape(title)})")
        if author:
            fields.append(f"/Author ({_escape(author)})")
        objects.append(f"<< {' '.join(fields)} >>".encode())
        info_ref = len(objects)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R" + (f" /Info {info_ref} 0 R" if info_ref else "") + " >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)
