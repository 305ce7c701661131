#!/usr/bin/env bash
# PDFs made the way users make them: LibreOffice Writer exporting two of the DOCX resume
# fixtures. Unlike the fpdf2 PDFs (standard-14 fonts, WinAnsi), these embed subset
# TrueType/CFF fonts with /ToUnicode maps, as Word and LibreOffice exports do; r04 has a
# two-cell table (skills | experience), r12 CJK text.
#
#   infra/models/skills/make_office_pdfs.sh      # writes tests/fixtures/resumes/*.lo.pdf
#
# Needs LibreOffice (Debian 12: apt-get install libreoffice-writer-nogui fonts-noto-cjk
# fonts-dejavu-core; the fixtures were made with LibreOffice 7.4.7.2). Not byte-reproducible:
# LibreOffice writes the creation date and a random document ID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
resumes="$here/../../../tests/fixtures/resumes"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for name in r04-mette-kristensen r12-wei-zhang; do
    soffice --headless -env:UserInstallation="file://$work/profile" \
        --convert-to pdf --outdir "$work" "$resumes/$name.docx" >/dev/null
    mv "$work/$name.pdf" "$resumes/$name.lo.pdf"
    echo "wrote tests/fixtures/resumes/$name.lo.pdf ($(wc -c < "$resumes/$name.lo.pdf") bytes)"
done
