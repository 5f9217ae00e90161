"""The DOCX package's ZIP (render/zipwrite.py): what zipfile writes, but pictures stored
and unchanged parts deflated once."""

from __future__ import annotations

import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_kit.render import zipwrite


def _zipfile(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


NAMES = st.sampled_from(["word/document.xml", "[Content_Types].xml", "a/b.rels", "é.xml"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(NAMES, st.binary(max_size=3000)), max_size=6, unique_by=lambda f: f[0]))
def test_parts_are_zipped_as_zipfile_zips_them(files: list[tuple[str, bytes]]) -> None:
    assert zipwrite.zip_bytes(files) == _zipfile(files)


def test_pictures_are_stored_and_read_back() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    files = [("word/document.xml", b"<w:document/>" * 500), ("word/media/image1.png", png)]
    data = zipwrite.zip_bytes(files)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        kinds = {i.filename: i.compress_type for i in archive.infolist()}
        assert kinds == {"word/document.xml": zipfile.ZIP_DEFLATED, "word/media/image1.png": 0}
        assert [archive.read(n) for n, _ in files] == [d for _, d in files]


def test_the_same_part_is_deflated_once_and_a_new_one_again() -> None:
    part = b"<w:styles>" + b"x" * 5000 + b"</w:styles>"
    first = zipwrite.zip_bytes([("word/styles.xml", part)])
    kept = zipwrite._deflated[id(part)]
    assert zipwrite.zip_bytes([("word/styles.xml", part)]) == first
    assert zipwrite._deflated[id(part)] is kept  # taken, not made again
    other = part[:-1] + b"!"
    with zipfile.ZipFile(io.BytesIO(zipwrite.zip_bytes([("s.xml", other)]))) as archive:
        assert archive.read("s.xml") == other
