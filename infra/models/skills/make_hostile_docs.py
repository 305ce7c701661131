"""Hostile / broken documents for the resume parser's tests.

    python make_hostile_docs.py [OUT_DIR] [--big]

OUT_DIR defaults to tests/fixtures/hostile/ (the small files there are committed, each < 50 KB, with
manifest.json). --big adds zipbomb_1g.docx (~1 MB on disk, word/document.xml inflates to 1 GiB):
generate it at test time into a temp dir, do not commit it. The 50 MB upload is left to the Rust test.
Deterministic: same bytes on every run.
"""
import io
import json
import struct
import sys
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
DEFAULT_OUT = REPO / "tests" / "fixtures" / "hostile"
ZDATE = (1980, 1, 1, 0, 0, 0)

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '</Types>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>')


def doc_xml(body_text, prolog=""):
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}'
            f'<w:document {W_NS}><w:body><w:p><w:r><w:t>{body_text}</w:t></w:r></w:p></w:body></w:document>')


def zinfo(name):
    zi = zipfile.ZipInfo(name, date_time=ZDATE)
    zi.compress_type = zipfile.ZIP_DEFLATED
    return zi


def docx_bytes(document_xml=None, extra=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zinfo("[Content_Types].xml"), CONTENT_TYPES)
        z.writestr(zinfo("_rels/.rels"), ROOT_RELS)
        if document_xml is not None:
            z.writestr(zinfo("word/document.xml"), document_xml, compresslevel=9)
        for name, data in extra:
            z.writestr(zinfo(name), data)
    return buf.getvalue()


def bomb_docx(path, inflated_bytes, lie_size=None):
    """word/document.xml = a valid document whose one w:t holds `inflated_bytes` of 'A' (deflate ~1030:1),
    streamed so memory stays flat. lie_size: patch the declared uncompressed size in both headers."""
    head = doc_xml("\x00").split("\x00")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zinfo("[Content_Types].xml"), CONTENT_TYPES)
        z.writestr(zinfo("_rels/.rels"), ROOT_RELS)
        zi = zinfo("word/document.xml")
        zi.file_size = inflated_bytes + len(head[0]) + len(head[1])  # hint: no zip64 needed below 4 GiB
        with z.open(zi, "w", force_zip64=False) as f:
            f.write(head[0].encode())
            chunk = b"A" * (1 << 20)
            left = inflated_bytes
            while left:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n
            f.write(head[1].encode())
    total = inflated_bytes + len(head[0].encode()) + len(head[1].encode())
    if lie_size is not None:
        name = "word/document.xml"
        with zipfile.ZipFile(path) as z:
            zi = z.getinfo(name)
            local_at = zi.header_offset
            assert not zi.flag_bits & 0x08, "unexpected data descriptor"
        data = bytearray(Path(path).read_bytes())
        # local file header: uncompressed size at +22; central directory entry: at +24
        assert data[local_at:local_at + 4] == b"PK\x03\x04"
        struct.pack_into("<I", data, local_at + 22, lie_size)
        eocd = data.rfind(b"PK\x05\x06")
        n_entries, _, cd_at = struct.unpack_from("<HII", data, eocd + 10)
        j = cd_at
        for _ in range(n_entries):
            assert data[j:j + 4] == b"PK\x01\x02"
            n_len, x_len, c_len = struct.unpack_from("<HHH", data, j + 28)
            if data[j + 46:j + 46 + n_len] == name.encode():
                struct.pack_into("<I", data, j + 24, lie_size)
            j += 46 + n_len + x_len + c_len
        Path(path).write_bytes(bytes(data))
    return total


# ------------------------------------------------------------------ minimal PDF writer
def pdf_bytes(objects, root=1, trailer_extra=b"", xref=True, header=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"):
    """objects: {num: bytes body}. Writes a classic xref table with correct offsets."""
    out = bytearray(header)
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    n = max(objects) + 1
    xref_at = len(out)
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % n
        for i in range(1, n):
            out += (b"%010d 00000 n \n" % offsets[i]) if i in offsets else b"0000000000 00000 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (n, root, trailer_extra, xref_at)
    return bytes(out)


def stream(data, extra=b"", compress=False):
    if compress:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
PAGE_RES = b"/Resources << /Font << /F1 %d 0 R >> >>"


def text_content(line):
    return b"BT /F1 12 Tf 72 720 Td (" + line + b") Tj ET"


def pdf_many_pages(pages_per_level=(100, 1000)):
    """A page-tree DAG: every node of a level is the SAME object, so 100 x 1000 = 100,000 pages in ~7 KB."""
    objs = {}
    # 1 catalog, 2 root pages, 3.. intermediate levels, then leaf page, content, font
    levels = len(pages_per_level)
    leaf, content, font = 3 + levels - 1, 4 + levels - 1, 5 + levels - 1
    objs[font] = FONT
    objs[content] = stream(text_content(b"Hostile fixture: one of 100000 pages."))
    total = 1
    for k in pages_per_level:
        total *= k
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    node_nums = [2] + [3 + i for i in range(levels - 1)]
    remaining = total
    for depth, num in enumerate(node_nums):
        fan = pages_per_level[depth]
        child = node_nums[depth + 1] if depth + 1 < levels else leaf
        kids = b" ".join(b"%d 0 R" % child for _ in range(fan))
        parent = b"" if depth == 0 else b" /Parent %d 0 R" % node_nums[depth - 1]
        objs[num] = b"<< /Type /Pages /Count %d /Kids [%s]%s >>" % (remaining, kids, parent)
        remaining //= fan
    objs[leaf] = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R " % (node_nums[-1], content)
                  + PAGE_RES % font + b" >>")
    return pdf_bytes(objs), total


def simple_pdf(content_stream, extra_page=b"", catalog_pages=b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
               trailer_extra=b""):
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: catalog_pages,
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " + PAGE_RES % 5 + extra_page + b" >>",
        4: content_stream,
        5: FONT,
    }
    return pdf_bytes(objs, trailer_extra=trailer_extra)


def text_pdf_with_fpdf(lines):
    from fpdf import FPDF
    import datetime as dt
    pdf = FPDF(format="letter")
    pdf.set_creation_date(dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for l in lines:
        pdf.multi_cell(0, 6, l, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


RESUME_LINES = ["Jordan Example", "jordan.example@example.com  (555) 555-0100",
                "Senior Software Engineer, Example Corp, Jan 2019 - Present",
                "Skills: Python, SQL, Docker, Kubernetes, AWS, Terraform"] + \
               [f"- Built and operated service number {i} in Python and Go on Kubernetes." for i in range(40)]


def png_bytes(text_lines, size=(620, 300)):
    from PIL import Image, ImageDraw
    img = Image.new("1", size, 1)
    d = ImageDraw.Draw(img)
    for i, l in enumerate(text_lines):
        d.text((12, 12 + 16 * i), l, fill=0)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else DEFAULT_OUT
    big = "--big" in sys.argv
    out.mkdir(parents=True, exist_ok=True)
    M = {}

    def put(name, data, **meta):
        (out / name).write_bytes(data)
        M[name] = meta

    # ---------------- DOCX
    p = out / "zipbomb_ratio.docx"
    inflated = bomb_docx(p, 48 * 1024 * 1024)
    M[p.name] = {"kind": "docx zip bomb",
                 "what": "valid DOCX; word/document.xml inflates to 48 MiB (ratio > 1000); sizes in the headers are true",
                 "inflated_bytes": inflated, "expect": "reject before inflating it all (size/ratio cap)"}
    p = out / "zipbomb_liar.docx"
    bomb_docx(p, 48 * 1024 * 1024, lie_size=4096)
    M[p.name] = {"kind": "docx zip bomb, lying headers",
                 "what": "as zipbomb_ratio.docx but the local header and the central directory declare "
                         "4096 uncompressed bytes: a cap must count bytes actually inflated, not trust the header",
                 "declared_bytes": 4096, "inflated_bytes": inflated,
                 "expect": "reject (or stop at the cap); never allocate from the declared size"}
    if big:
        p = out / "zipbomb_1g.docx"
        M[p.name] = {"kind": "docx zip bomb 1 GiB", "what": "word/document.xml inflates to 1 GiB",
                     "inflated_bytes": bomb_docx(p, 1 << 30), "expect": "reject", "commit": False}
    put("not_a_zip.docx", b"This is plain text pretending to be a .docx file.\n" * 3,
        kind="corrupt docx", what="not a zip at all", expect="reject: not a DOCX")
    put("zip_without_document.docx", docx_bytes(None, extra=[("word/styles.xml", "<w:styles %s/>" % W_NS)]),
        kind="corrupt docx", what="valid zip with [Content_Types].xml and _rels/.rels but no word/document.xml",
        expect="reject: no document part")
    good = docx_bytes(doc_xml("Jordan Example, jordan.example@example.com, Python and SQL"))
    put("truncated.docx", good[: len(good) // 2], kind="corrupt docx",
        what="first half of a valid DOCX (no central directory)", expect="reject: corrupt")
    put("xxe.docx", docx_bytes(doc_xml("Name: &xxe;", prolog='<!DOCTYPE w:document [<!ENTITY xxe SYSTEM '
                                                            '"file:///etc/passwd">]>\n')),
        kind="docx XXE", what="document.xml declares an external entity (file:///etc/passwd) and uses it",
        expect="never resolve external entities: reject, or return the text without /etc/passwd content")
    lol = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    put("billion_laughs.docx", docx_bytes(doc_xml("&l9;", prolog=f'<!DOCTYPE w:document [<!ENTITY l0 "lol">{lol}]>\n')),
        kind="docx XML entity bomb", what="nested internal entities: &l9; expands to 3 * 10^9 bytes",
        expect="reject or leave entities unexpanded; bounded memory")
    put("empty.docx", b"", kind="empty", what="0 bytes", expect="reject: empty")

    # ---------------- PDF
    data, total = pdf_many_pages((100, 1000))
    put("pages_100k.pdf", data, kind="pdf page-count bomb",
        what="page tree is a DAG (the same Pages node 100 times, the same leaf page 1000 times): a reader "
             "that walks it sees 100,000 real pages", pages=total, expect="cap pages read (e.g. first N pages)")
    put("pages_count_lie.pdf",
        simple_pdf(stream(text_content(b"Only one real page.")),
                   catalog_pages=b"<< /Type /Pages /Count 100000 /Kids [3 0 R] >>"),
        kind="pdf page-count lie", what="/Count 100000 but one kid", pages_declared=100000, pages_real=1,
        expect="never allocate from /Count; one page of text")
    put("pages_cycle.pdf",
        simple_pdf(stream(text_content(b"Cycle.")),
                   catalog_pages=b"<< /Type /Pages /Count 2 /Kids [3 0 R 2 0 R] >>"),
        kind="pdf page-tree cycle", what="the root Pages node lists itself as a kid",
        expect="detect the cycle: reject or return the one real page; no stack overflow / infinite loop")
    put("nested_arrays.pdf",
        simple_pdf(stream(text_content(b"Deep.")), extra_page=b" /Junk " + b"[" * 24000 + b"]" * 24000),
        kind="pdf deep nesting", what="a page dictionary holds 24,000 nested arrays",
        expect="no stack overflow: reject or ignore")
    put("xref_prev_loop.pdf",
        simple_pdf(stream(text_content(b"Xref loop.")), trailer_extra=b"/Prev 9 "),
        kind="pdf xref loop", what="trailer /Prev points into the body (not an xref section)",
        expect="no infinite loop; may still read the text")
    bomb_content = b"BT /F1 12 Tf 72 720 Td (Flate bomb) Tj ET\n" + b" " * (48 * 1024 * 1024)
    put("flate_bomb.pdf", simple_pdf(stream(bomb_content, compress=True)),
        kind="pdf stream bomb", what="the page's content stream is ~48 KB FlateDecode inflating to 48 MiB",
        inflated_bytes=len(bomb_content), expect="cap inflated stream size")
    valid = text_pdf_with_fpdf(RESUME_LINES)
    put("truncated.pdf", valid[: int(len(valid) * 0.6)], kind="corrupt pdf",
        what="first 60% of a valid text PDF: no xref, no trailer", expect="reject, or recover partial text")
    put("empty.pdf", b"", kind="empty", what="0 bytes", expect="reject: empty")
    put("png_as.pdf", png_bytes(RESUME_LINES[:4]), kind="wrong type",
        what="a PNG image renamed .pdf", expect="reject: not a PDF (sniff magic bytes, not the extension)")
    from fpdf import FPDF
    import datetime as dt
    pdf = FPDF(format="letter")
    pdf.set_creation_date(dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    pdf.add_page()
    pdf.image(io.BytesIO(png_bytes(RESUME_LINES[:14], size=(620, 250))), x=10, y=10, w=190)
    img_pdf = bytes(pdf.output())
    put("image_only.pdf", img_pdf, kind="scanned / image-only pdf",
        what="one page holding a bitmap of resume text, no text layer", expect="no text: 'needs OCR' error")

    from pypdf import PdfReader, PdfWriter
    for name, user, owner, what, expect in [
            ("encrypted_userpw.pdf", "secret-555", "owner-555", "RC4-128 encrypted, user password 'secret-555'",
             "reject: password required"),
            ("encrypted_ownerpw_only.pdf", "", "owner-555",
             "RC4-128 encrypted with an EMPTY user password (owner password only): opens without a password",
             "decrypt with the empty password and extract the text (as viewers do), or reject consistently")]:
        from pypdf.generic import ArrayObject, ByteStringObject
        w = PdfWriter(clone_from=PdfReader(io.BytesIO(valid)))
        fixed_id = ByteStringObject(b"ferry-hostile-id")
        # pypdf draws the file identifiers from `secrets`; fix them for reproducible bytes (RC4 keys use ID[0])
        w.generate_file_identifiers = lambda: setattr(w, "_ID", ArrayObject([fixed_id, fixed_id]))
        w.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
        b = io.BytesIO()
        w.write(b)
        put(name, b.getvalue(), kind="encrypted pdf", what=what, expect=expect)

    # ---------------- checks
    for name in ["zipbomb_ratio.docx", "zipbomb_liar.docx"]:
        p = out / name
        ratio = M[name]["inflated_bytes"] / p.stat().st_size
        M[name]["ratio"] = round(ratio)
        assert ratio > 1000, (name, ratio)
    with zipfile.ZipFile(out / "zipbomb_ratio.docx") as z:
        assert z.getinfo("word/document.xml").file_size == M["zipbomb_ratio.docx"]["inflated_bytes"]
    small, n = pdf_many_pages((10, 100))          # same construction, small enough to walk: 1000 real pages
    r = PdfReader(io.BytesIO(small))
    assert len(r.pages) == n == 1000 and "100000 pages" in r.pages[999].extract_text()
    from pypdf.errors import LimitReachedError
    try:                                            # pypdf itself refuses more than 100,000 page-tree entries
        len(PdfReader(out / "pages_100k.pdf").pages)
        raise AssertionError("pypdf walked pages_100k.pdf")
    except LimitReachedError as e:
        M["pages_100k.pdf"]["pypdf_7.1.0"] = f"LimitReachedError: {e}"
    assert PdfReader(out / "image_only.pdf").pages[0].extract_text().strip() == ""
    r = PdfReader(out / "encrypted_userpw.pdf")
    assert r.is_encrypted and r.decrypt("secret-555") and "Jordan Example" in r.pages[0].extract_text()
    r = PdfReader(out / "encrypted_ownerpw_only.pdf")
    assert r.is_encrypted and "Jordan Example" in r.pages[0].extract_text()
    assert PdfReader(out / "flate_bomb.pdf").pages[0].extract_text().startswith("Flate bomb")
    for name, meta in M.items():
        meta["bytes"] = (out / name).stat().st_size
        if meta.get("commit", True):
            assert meta["bytes"] < 50 * 1024, (name, meta["bytes"])
    committed = {k: v for k, v in M.items() if v.get("commit", True)}
    if out.resolve() == DEFAULT_OUT.resolve():
        (out / "manifest.json").write_text(json.dumps(committed, indent=1, ensure_ascii=False) + "\n")
    for name, meta in M.items():
        print(f"  {name}: {meta['bytes']:,} bytes  {meta['kind']}")


if __name__ == "__main__":
    main()
