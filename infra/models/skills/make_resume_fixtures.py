"""Resume / job-description fixtures for "resume intelligence": tests/fixtures/resumes/.

Hand-written sources (*.md, *.txt) are rendered to PDF (fpdf2, core fonts only, text layer) and
DOCX (python-docx); every render is checked for extractable text (pypdf / python-docx). The
skill-extractor package (run offline, see se_ref.py) then records its reference output for every
source, and expected.json is written from the hand-written facts below plus that output.

    infra/models/.work/venv/bin/python infra/models/skills/make_resume_fixtures.py

Deterministic: fixed dates in PDF/DOCX metadata, fixed zip timestamps; rerunning gives the same bytes.
"""
import datetime as dt
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np

from se_ref import REPO, FerryEmbedder, Fp32Embedder, analyse, make_extractor, package_data_dir

FIX = REPO / "tests" / "fixtures" / "resumes"
AS_OF = "2026-11"
FIXED_DATE = dt.datetime(2026, 11, 1, 12, 0, 0, tzinfo=dt.timezone.utc)

# ----------------------------------------------------------------------------------------------
# Hand-written facts. phone: as printed; phone_e164: digits with country code. links: normalised
# as host + path, lower case, no scheme, no "www.", no trailing slash. Dates: YYYY-MM or YYYY;
# end null = "present" (as of AS_OF). years_experience: approximate total professional experience
# as of AS_OF, with the range a sensible parser may land in.
# ----------------------------------------------------------------------------------------------
R = {}


def resume(rid, source, layout, formats, name, email, phone, e164, links, location, education,
           employment, years, intended, notes=None):
    R[rid] = dict(source=source, layout=layout, render=formats,
                  contacts=dict(name=name, email=email, phone=phone, phone_e164=e164, links=links,
                                location=location),
                  education=education, employment=employment, years_experience=years,
                  intended_skills=intended, notes=notes or [])


def job(title, company, start, end):
    return {"title": title, "company": company, "start": start, "end": end}


resume("r01", "r01-daniel-okafor.md", "chronological, Markdown, links as [text](url)", ["pdf", "docx"],
       "Daniel Okafor", "daniel.okafor@example.com", "+1 (206) 555-0142", "+12065550142",
       {"linkedin": "linkedin.com/in/daniel-okafor-example", "github": "github.com/dokafor-example",
        "website": "dokafor.example.com"}, "Seattle, WA, USA",
       [{"degree": "B.S. Computer Science", "school": "Oregon State University", "end": "2015"}],
       [job("Staff Software Engineer", "Northwind Payments", "2021-01", None),
        job("Software Engineer II", "Bluefin Logistics", "2017-03", "2020-12"),
        job("Junior Developer", "Cascade Web Studio", "2015-06", "2017-02")],
       {"value": 11.4, "min": 10.5, "max": 12.0},
       ["rust", "go", "python", "sql", "postgresql", "redis", "kafka", "grpc", "docker", "kubernetes", "aws",
        "terraform", "linux", "distributed systems", "microservices", "tokio", "axum", "prometheus", "php",
        "mysql", "git"])
resume("r02", "r02-priya-raman.md", "skills-first, Markdown", ["pdf", "docx"],
       "Priya Raman", "priya.raman@example.org", "(512) 555-0187", "+15125550187",
       {"linkedin": "linkedin.com/in/priya-raman-example", "github": "github.com/praman-example",
        "website": "priyaraman.example.org"}, "Austin, TX",
       [{"degree": "M.S. Statistics", "school": "University of Texas at Austin", "end": "2017"},
        {"degree": "B.Sc. Mathematics", "school": "University of Mumbai", "end": "2015"}],
       [job("Senior Data Scientist", "Lonestar Health Analytics", "2021-08", None),
        job("Data Scientist", "Redbud Retail", "2019-06", "2021-07"),
        job("Data Analyst", "Redbud Retail", "2017-07", "2019-05")],
       {"value": 9.3, "min": 8.5, "max": 10.0},
       ["python", "sql", "scikit-learn", "xgboost", "machine learning", "pandas", "numpy", "apache spark",
        "airflow", "snowflake", "bigquery", "statistics", "a/b testing", "tableau", "matplotlib", "looker",
        "nlp", "pytorch", "tensorflow", "deep learning", "excel", "databricks"],
       ["DOCX variant: the contact line (email, phone, links) is in the page header (word/header1.xml), "
        "not in the body."])
resume("r03", "r03-lucas-ferreira.txt", "one-line header, plain text, right-aligned year ranges", ["pdf"],
       "Lucas Ferreira", "lucas.ferreira@example.com", "+351 555 0123 456", "+3515550123456",
       {"linkedin": "linkedin.com/in/lucas-ferreira-example", "github": "github.com/lferreira-example",
        "website": "lucasferreira.example.com"}, "Lisbon, Portugal",
       [{"degree": "BSc Informatics Engineering", "school": "Universidade do Porto", "end": "2020"}],
       [job("Senior Frontend Engineer", "Atlantico Travel", "2022", "2025"),
        job("Frontend Developer", "Pixelmar Agency", "2020", "2022"),
        job("Web Developer (part-time)", "Universidade do Porto IT services", "2019", "2020")],
       {"value": 6.0, "min": 5.0, "max": 7.0},
       ["react", "typescript", "javascript", "next.js", "redux", "graphql", "html", "css", "sass", "jest",
        "cypress", "webpack", "storybook", "figma", "web accessibility", "git", "wordpress"])
resume("r04", "r04-mette-kristensen.txt", "two-column plain text (skills | experience)", ["pdf", "docx"],
       "Mette Kristensen", "mette.kristensen@example.com", "+45 555 01 99 88", "+45555019988",
       {"linkedin": "linkedin.com/in/mette-kristensen-example", "github": "github.com/mkristensen-example"},
       "Copenhagen, Denmark",
       [{"degree": "MSc Computer Science", "school": "Aarhus University", "end": "2013"}],
       [job("Senior Site Reliability Engineer", "Nordlys Energy A/S", "2020-09", None),
        job("DevOps Engineer", "Fjordbank", "2016-03", "2020-08"),
        job("Systems Administrator", "Aarhus University IT", "2013-08", "2016-02")],
       {"value": 13.3, "min": 12.5, "max": 14.0},
       ["kubernetes", "helm", "terraform", "ansible", "aws", "google cloud", "prometheus", "grafana", "linux",
        "bash", "python", "docker", "ci/cd", "gitlab ci", "argocd", "jenkins", "pagerduty", "nginx", "haproxy",
        "go", "postgresql"],
       ["Plain text and PDF interleave the two columns line by line; the DOCX variant is a two-cell table."])
resume("r05", "r05-amara-nwosu.md", "academic CV (appointments, publications, teaching, grants)", ["pdf", "docx"],
       "Amara Nwosu", "a.nwosu@example.org", "608-555-0131", "+16085550131",
       {"linkedin": "linkedin.com/in/amara-nwosu-example", "github": "github.com/anwosu-lab-example",
        "website": "anwosu.example.org"}, "Madison, WI, USA",
       [{"degree": "PhD Bioinformatics", "school": "University of Edinburgh", "end": "2021"},
        {"degree": "MSc Statistics", "school": "University of Lagos", "end": "2015"},
        {"degree": "BSc Mathematics", "school": "University of Lagos", "end": "2013"}],
       [job("Postdoctoral Research Associate", "Lakeside University", "2021", None),
        job("Graduate Research Assistant", "University of Edinburgh", "2016", "2021")],
       {"value": 10.9, "min": 5.0, "max": 11.5},
       ["python", "pytorch", "numpy", "pandas", "statistics", "machine learning", "deep learning", "linux",
        "git", "latex", "slurm"],
       ["Name is printed as 'Amara Nwosu, PhD'.", "Years: 5 counting only the postdoc, ~11 with the PhD research "
        "assistantship; both are acceptable."])
resume("r06", "r06-kevin-tran.txt", "new graduate: education first, internship, projects", ["pdf", "docx"],
       "Kevin Tran", "kevin.tran.dev@example.com", "(408) 555-0166", "+14085550166",
       {"linkedin": "linkedin.com/in/kevin-tran-example", "github": "github.com/ktran-example",
        "website": "ktran.example.com"}, "San Jose, CA",
       [{"degree": "B.S. Computer Science", "school": "San Jose State University", "end": "2025-05"}],
       [job("Junior Software Engineer", "Copperleaf Analytics", "2025-07", None),
        job("Software Engineering Intern", "Orchard Fintech", "2024-06", "2024-08"),
        job("Teaching Assistant", "SJSU Computer Science Department", "2023-08", "2025-05")],
       {"value": 1.4, "min": 1.0, "max": 3.5},
       ["java", "python", "javascript", "sql", "react", "node.js", "git", "linux", "docker", "spring boot",
        "postgresql", "github actions", "mongodb", "express", "react native", "go"],
       ["'Summer 2024' = 2024-06..2024-08 (approximate)."])
resume("r07", "r07-rachel-goldberg.md", "career changer (teacher -> frontend), contact list, MM/YYYY dates",
       ["pdf"],
       "Rachel Goldberg", "rachel.goldberg@example.com", "617.555.0110", "+16175550110",
       {"linkedin": "linkedin.com/in/rachel-goldberg-example", "github": "github.com/rgoldberg-example",
        "website": "rachelgoldberg.example.com"}, "Boston, MA",
       [{"degree": "M.Ed. Secondary Education", "school": "Boston University", "end": "2015"},
        {"degree": "B.A. Mathematics", "school": "Tufts University", "end": "2013"},
        {"degree": "Web Development Bootcamp", "school": "Launch Academy", "end": "2023-12"}],
       [job("Junior Frontend Developer", "Harbor Learning Co.", "2024-03", None),
        job("Mathematics Teacher", "Brookline High School", "2015-09", "2023-06")],
       {"value": 10.5, "min": 2.5, "max": 11.5, "in_software": 2.7},
       ["javascript", "typescript", "react", "html", "css", "jest", "git", "figma", "node.js", "express",
        "postgresql", "react testing library", "public speaking", "curriculum development"],
       ["Total 10.5 years including 7.8 years of teaching; 2.7 years in software."])
resume("r08", "r08-nguyen-thi-thu-ha.txt", "non-English name (Vietnamese diacritics), YYYY.MM dates", ["docx"],
       "Nguyễn Thị Thu Hà", "thuha.nguyen@example.com", "+49 30 555 0178 23", "+4930555017823",
       {"linkedin": "linkedin.com/in/thu-ha-nguyen-example", "github": "github.com/thuha-example"},
       "Berlin, Germany",
       [{"degree": "B.Eng. Software Engineering", "school": "Hanoi University of Science and Technology",
         "end": "2017"}],
       [job("Senior Backend Engineer", "Spreeladen GmbH", "2021-04", None),
        job("Software Engineer", "Sài Gòn Commerce JSC", "2018-01", "2021-03"),
        job("Intern → Junior Developer", "FPT Software", "2017-03", "2017-12")],
       {"value": 9.7, "min": 9.0, "max": 10.5},
       ["java", "kotlin", "spring boot", "hibernate", "elasticsearch", "apache kafka", "postgresql", "mysql",
        "redis", "docker", "kubernetes", "grpc", "microservices", "jenkins"],
       ["Unicode outside Latin-1: no PDF variant (core fonts only)."])
resume("r09", "r09-jose-alvarez-munoz.md", "bilingual headings (es/en), Latin-1 accents", ["pdf"],
       "José Álvarez Muñoz", "jose.alvarez@example.com", "+34 555 012 345", "+34555012345",
       {"linkedin": "linkedin.com/in/jose-alvarez-munoz-example", "github": "github.com/jalvarez-example"},
       "Madrid, España",
       [{"degree": "Grado en Ingeniería Informática", "school": "Universidad de Sevilla", "end": "2017"},
        {"degree": "Máster en Big Data", "school": "Universidad Politécnica de Madrid", "end": "2019"}],
       [job("Senior Data Engineer", "Meseta Mobility S.L.", "2022-02", None),
        job("Data Engineer", "Banco Ibérico Digital", "2019-09", "2022-01"),
        job("BI Developer", "Consultoría Ñandú", "2017", "2019")],
       {"value": 9.9, "min": 9.0, "max": 10.5},
       ["python", "scala", "sql", "apache spark", "apache kafka", "apache airflow", "dbt", "snowflake",
        "databricks", "aws", "terraform", "docker", "etl", "data modeling", "tableau", "power bi", "sql server",
        "redshift", "flink"])
resume("r10", "r10-sarah-oconnell.md", "non-technical (marketing), one-line contact row, links behind labels",
       ["docx"],
       "Sarah O'Connell", "sarah.oconnell@example.com", "(312) 555-0193", "+13125550193",
       {"linkedin": "linkedin.com/in/sarah-oconnell-example", "website": "sarahoconnell.example.com"},
       "Chicago, IL",
       [{"degree": "B.A. Communications", "school": "Loyola University Chicago", "end": "2014"}],
       [job("Marketing Manager", "Lakeshore Home Goods", "2020-04", None),
        job("Senior Marketing Specialist", "Prairie Insurance Group", "2016-03", "2020-03"),
        job("Marketing Coordinator", "Windy City Events", "2014-06", "2016-02")],
       {"value": 12.4, "min": 11.5, "max": 13.0},
       ["seo", "google analytics", "hubspot", "salesforce", "copywriting", "social media marketing",
        "project management", "budgeting", "public relations", "mailchimp", "google ads"],
       ["Links appear only as [LinkedIn](url) / [Portfolio](url): in the DOCX variant the URLs exist only as "
        "hyperlink targets (word/_rels/document.xml.rels), the visible text is 'LinkedIn' / 'Portfolio'."])
resume("r11", "r11-hannah-schmidt.txt", "skills grouped by area, '•' bullets, 'Month YYYY – present'", ["docx"],
       "Hannah Schmidt", "hannah.schmidt@example.com", "+49 89 555 0147", "+49895550147",
       {"linkedin": "linkedin.com/in/hannah-schmidt-example", "github": "github.com/hschmidt-example",
        "website": "hannahschmidt.example.org"}, "Munich, Germany",
       [{"degree": "M.Sc. Informatics", "school": "Technical University of Munich", "end": "2018"},
        {"degree": "B.Sc. Informatics", "school": "University of Stuttgart", "end": "2016"}],
       [job("Full-Stack Engineer", "Alpenflow SaaS GmbH", "2021-10", None),
        job("Software Developer", "Isar Digital Agency", "2019-01", "2021-09"),
        job("Werkstudentin (working student)", "Siemens", "2017", "2018")],
       {"value": 8.9, "min": 7.5, "max": 10.0},
       ["go", "node.js", "postgresql", "redis", "graphql", "typescript", "react", "next.js", "html", "css",
        "tailwind css", "docker", "kubernetes", "aws", "github actions", "terraform", "jest", "cypress",
        "mongodb", "express", "python"])
resume("r12", "r12-wei-zhang.txt", "CJK in name/company/school, YYYY/MM dates", ["docx"],
       "Wei Zhang", "wei.zhang@example.com", "604-555-0155", "+16045550155",
       {"linkedin": "linkedin.com/in/wei-zhang-example", "github": "github.com/weizhang-example",
        "website": "weizhang.example.com"}, "Vancouver, BC, Canada",
       [{"degree": "B.Eng. Computer Science", "school": "Beijing University of Posts and Telecommunications",
         "end": "2017"}],
       [job("Senior iOS Engineer", "Maple Health Apps", "2020-05", None),
        job("Mobile Developer", "北京移动科技有限公司 (Beijing Mobile Tech Co.)", "2017-07", "2020-04")],
       {"value": 9.3, "min": 8.5, "max": 10.0},
       ["swift", "swiftui", "objective-c", "ios", "xcode", "core data", "combine", "kotlin", "android",
        "git", "figma", "github actions"],
       ["Name is printed as 'Wei Zhang (张伟)'."])
resume("r13", "r13-tomasz-wisniewski.txt", "MM/YYYY - MM/YYYY dates, a gap and a return to the same employer",
       ["docx"],
       "Tomasz Wiśniewski", "tomasz.wisniewski@example.com", "+48 12 555 01 77", "+48125550177",
       {"linkedin": "linkedin.com/in/tomasz-wisniewski-example", "github": "github.com/twisniewski-example"},
       "Kraków, Poland",
       [{"degree": "MSc Automatic Control and Robotics", "school": "AGH University of Science and Technology",
         "end": "2016"}],
       [job("Embedded Software Engineer", "Wawel Robotics Sp. z o.o.", "2020-03", "2022-06"),
        job("Embedded Software Engineer", "Wawel Robotics Sp. z o.o.", "2022-09", None),
        job("Embedded Developer", "Elektronika Śląska S.A.", "2016-10", "2020-02")],
       {"value": 9.8, "min": 9.3, "max": 10.5},
       ["c++", "embedded c", "rtos", "arm", "stm32", "embedded linux", "yocto", "cmake", "python",
        "git", "jenkins", "jtag", "bash", "misra c"],
       ["Two date ranges on one line for the same role (03/2020 - 06/2022 and 09/2022 - present): a 3-month gap."])
resume("r14", "r14-grace-whitman.md", "executive, 22 years, 2-page PDF", ["pdf"],
       "Grace Whitman", "grace.whitman@example.com", "+1 646 555 0104", "+16465550104",
       {"linkedin": "linkedin.com/in/grace-whitman-example", "website": "gracewhitman.example.com"},
       "New York, NY",
       [{"degree": "MBA", "school": "Columbia Business School", "end": "2013"},
        {"degree": "B.S. Electrical Engineering and Computer Science", "school": "MIT", "end": "2004"}],
       [job("VP of Engineering", "Hudson Commerce", "2019-10", None),
        job("Director of Engineering", "Brightline Media", "2014-05", "2019-09"),
        job("Engineering Manager", "Brightline Media", "2011-01", "2014-04"),
        job("Senior Software Engineer", "Atlas Trading Systems", "2006-07", "2010-12"),
        job("Software Engineer", "Kestrel Consulting", "2004-06", "2006-06")],
       {"value": 22.4, "min": 21.5, "max": 23.0},
       ["java", "scala", "c++", "kubernetes", "aws", "microservices", "distributed systems", "agile", "scrum",
        "hadoop", "apache spark", "mentoring", "leadership", "budgeting", "stakeholder management", "oracle"])

JOBS = {
    "jd1": dict(source="jd1-backend-rust-go.md", title="Senior Backend Engineer (Rust / Go)",
                required=["rust", "go", "postgresql", "sql", "kafka", "docker", "kubernetes", "aws", "microservices",
                          "grpc", "distributed systems", "rest apis"],
                nice=["redis", "terraform", "tokio"],
                # Five resumes share the lowest overlap (none of the 12 skills): any may be last.
                ranking={"first": "r01", "last_any_of": ["r10", "r05", "r12", "r13", "r03"],
                         "above": [["r01", "r08"], ["r01", "r11"], ["r01", "r14"], ["r08", "r12"], ["r11", "r07"],
                                   ["r06", "r10"]]}),
    "jd2": dict(source="jd2-data-scientist.md", title="Data Scientist",
                required=["python", "sql", "statistics", "machine learning", "pandas", "scikit-learn", "a/b testing",
                          "xgboost", "pytorch", "apache spark", "snowflake"],
                nice=["deep learning", "nlp", "tableau"],
                ranking={"first": "r02", "last_any_of": ["r10", "r12", "r13", "r03"],
                         "top3_any_order": ["r02", "r05", "r09"],
                         "above": [["r02", "r05"], ["r02", "r09"], ["r05", "r12"], ["r09", "r03"], ["r02", "r10"]]}),
    "jd3": dict(source="jd3-frontend-react.md", title="Frontend Engineer (React)",
                required=["react", "typescript", "javascript", "html", "css", "web accessibility", "jest", "cypress",
                          "next.js", "graphql", "webpack", "figma"],
                nice=["storybook"],
                ranking={"first": "r03", "last_any_of": ["r10", "r13", "r04", "r05", "r09"],
                         "top3_any_order": ["r03", "r11", "r07"],
                         "above": [["r03", "r11"], ["r03", "r07"], ["r07", "r13"], ["r11", "r04"], ["r03", "r10"]]}),
    "jd4": dict(source="jd4-devops-sre.md", title="Site Reliability Engineer",
                required=["kubernetes", "terraform", "aws", "docker", "linux", "prometheus", "grafana", "ci/cd",
                          "python", "bash", "go", "incident response"],
                nice=["helm", "ansible", "google cloud", "postgresql"],
                # Four resumes share the lowest overlap (none of the 12 skills): any may be last.
                ranking={"first": "r04", "last_any_of": ["r10", "r12", "r07", "r03"], "top3_any_order": ["r04", "r01", "r11"],
                         "above": [["r04", "r01"], ["r04", "r11"], ["r01", "r03"], ["r11", "r12"], ["r04", "r10"]]}),
}

# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------
PDF_SUBST = {"–": "-", "—": "-", "•": "-", "◦": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "→": "->",
             "…": "...", "\u00a0": " "}
LINK_RE = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def pdf_text(s):
    for a, b in PDF_SUBST.items():
        s = s.replace(a, b)
    s.encode("latin-1")  # core fonts are Latin-1 only: fail loudly rather than drop characters
    return s


def md_inline(s):
    """Markdown inline -> (plain text, [(visible text, url)])."""
    links = [(m.group(1), m.group(2)) for m in LINK_RE.finditer(s)]
    s = LINK_RE.sub(lambda m: m.group(1), s)
    s = re.sub(r"\*\*(.+?)\*\*", r"\1", s)
    s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", s)
    return s, links


def md_blocks(text):
    """Very small Markdown reader: (kind, text, links) with kind in h1 h2 h3 bullet number rule blank para."""
    out = []
    for line in text.splitlines():
        st = line.strip()
        if not st:
            out.append(("blank", "", []))
            continue
        if re.fullmatch(r"-{3,}", st):
            out.append(("rule", "", []))
            continue
        m = re.match(r"(#{1,3})\s+(.*)", st)
        if m:
            t, l = md_inline(m.group(2))
            out.append((f"h{len(m.group(1))}", t, l))
            continue
        m = re.match(r"[-*]\s+(.*)", st)
        if m:
            t, l = md_inline(m.group(1))
            out.append(("bullet", t, l))
            continue
        m = re.match(r"(\d+)\.\s+(.*)", st)
        if m:
            t, l = md_inline(m.group(2))
            out.append(("number", f"{m.group(1)}. {t}", l))
            continue
        t, l = md_inline(st)
        out.append(("para", t, l))
    return out


def new_pdf(title, author):
    from fpdf import FPDF
    pdf = FPDF(format="letter", unit="mm")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(pdf_text(title))
    pdf.set_author(pdf_text(author))
    pdf.set_creator("ferry tests/fixtures (fpdf2)")
    pdf.add_page()
    return pdf


def render_pdf_md(text, name, path):
    pdf = new_pdf(f"{name} - resume", name)
    w = pdf.epw
    style = {"h1": ("B", 17, 8), "h2": ("B", 12.5, 6.5), "h3": ("B", 11, 6), "para": ("", 10, 5),
             "bullet": ("", 10, 5), "number": ("", 10, 5)}
    for kind, t, links in md_blocks(text):
        if kind == "blank":
            pdf.ln(2)
            continue
        if kind == "rule":
            y = pdf.get_y() + 1
            pdf.line(pdf.l_margin, y, pdf.l_margin + w, y)
            pdf.ln(3)
            continue
        fs, size, lh = style[kind]
        pdf.set_font("Helvetica", fs, size)
        if kind in ("h2", "h3"):
            pdf.ln(1.5)
        t = pdf_text(t)
        if kind == "bullet":
            pdf.cell(5, lh, "-")
            pdf.multi_cell(w - 5, lh, t, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(w, lh, t, new_x="LMARGIN", new_y="NEXT")
        # clickable areas for the links on this line (visible text is in the text layer already)
        if len(links) and pdf.get_string_width(t) <= w:  # one-line paragraphs: exact boxes
            for vis, url in links:
                x = pdf.l_margin + pdf.get_string_width(t[:t.find(pdf_text(vis))])
                pdf.link(x, pdf.get_y() - lh, pdf.get_string_width(pdf_text(vis)), lh, url)
    pdf.output(str(path))


def render_pdf_txt(text, name, path):
    pdf = new_pdf(f"{name} - resume", name)
    # monospace keeps the column layout; shrink (down to 7 pt) until the longest line fits, else wrap
    longest = max(n for n in (len(l.rstrip()) for l in text.splitlines()) if n <= 120)
    size = max(7.0, min(9.0, (pdf.epw - 2 * pdf.c_margin) / (longest * 0.6 * 25.4 / 72) - 0.05))
    pdf.set_font("Courier", "", size)
    lh = size * 0.42
    for line in text.splitlines():
        if not line.strip():
            pdf.ln(lh)
            continue
        pdf.multi_cell(pdf.epw, lh, pdf_text(line.rstrip()), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def _hyperlink(paragraph, text, url, bold=False):
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    r_id = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    h = OxmlElement("w:hyperlink")
    h.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    st = OxmlElement("w:rStyle")
    st.set(qn("w:val"), "Hyperlink")
    rpr.append(st)
    if bold:
        rpr.append(OxmlElement("w:b"))
    run.append(rpr)
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    h.append(run)
    paragraph._p.append(h)


def _runs(paragraph, raw_md):
    """Add runs for a Markdown line: **bold**, *italic*, [text](url) as real hyperlinks."""
    pos = 0
    for m in re.finditer(r"\[([^\]]+)\]\(([^)]+)\)|\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", raw_md):
        if m.start() > pos:
            paragraph.add_run(raw_md[pos:m.start()])
        if m.group(1):
            _hyperlink(paragraph, m.group(1), m.group(2))
        elif m.group(3):
            paragraph.add_run(md_inline(m.group(3))[0]).bold = True
        else:
            paragraph.add_run(m.group(4)).italic = True
        pos = m.end()
    if pos < len(raw_md):
        paragraph.add_run(raw_md[pos:])


def new_docx(name):
    from docx import Document
    from docx.shared import Pt
    doc = Document()
    cp = doc.core_properties
    cp.author = name
    cp.title = f"{name} - resume"
    cp.last_modified_by = "ferry tests/fixtures"
    cp.created = FIXED_DATE.replace(tzinfo=None)
    cp.modified = FIXED_DATE.replace(tzinfo=None)
    cp.revision = 1
    doc.styles["Normal"].font.size = Pt(10.5)
    return doc


def render_docx_md(text, name, path, header_lines=()):
    doc = new_docx(name)
    if header_lines:
        hp = doc.sections[0].header.paragraphs[0]
        _runs(hp, "  ".join(header_lines))
    for line in text.splitlines():
        st = line.strip()
        if not st or st in header_lines:
            continue
        if re.fullmatch(r"-{3,}", st):
            continue
        m = re.match(r"(#{1,3})\s+(.*)", st)
        if m:
            lvl = len(m.group(1))
            doc.add_heading(md_inline(m.group(2))[0], level=0 if lvl == 1 else lvl - 1)
            continue
        m = re.match(r"[-*]\s+(.*)", st)
        if m:
            _runs(doc.add_paragraph(style="List Bullet"), m.group(1))
            continue
        m = re.match(r"\d+\.\s+(.*)", st)
        if m:
            _runs(doc.add_paragraph(style="List Number"), m.group(1))
            continue
        _runs(doc.add_paragraph(), st)
    doc.save(str(path))


SECTION_RE = re.compile(r"^[A-Z][A-Za-z ]{2,30}$")


def render_docx_txt(text, name, path):
    doc = new_docx(name)
    lines = text.splitlines()
    doc.add_heading(lines[0].strip(), level=0)
    for line in lines[1:]:
        if not line.strip():
            continue
        st = line.rstrip()
        if SECTION_RE.match(st.strip()) and (st.strip().isupper() or st.strip() in
                                              ("Summary", "Work experience", "Education")):
            doc.add_heading(st.strip(), level=1)
        elif re.match(r"\s*[-•*]\s+", st):
            doc.add_paragraph(re.sub(r"^\s*[-•*]\s+", "", st), style="List Bullet")
        else:
            doc.add_paragraph(st.strip())
    doc.save(str(path))


def render_docx_two_column(text, name, path):
    """r04: header lines as paragraphs, then the 'LEFT | RIGHT' body as one two-cell table."""
    doc = new_docx(name)
    lines = text.splitlines()
    sep = next(i for i, l in enumerate(lines) if l.startswith("----"))
    head = lines[:sep]
    # header block is itself two columns by spacing: left = name/title/city, right = contacts
    left = [l[:50].strip() for l in head if l[:50].strip()]
    right = [l[50:].strip() for l in head if l[50:].strip()]
    doc.add_heading(left[0].title(), level=0)
    for l in left[1:]:
        doc.add_paragraph(l)
    for r in right:
        doc.add_paragraph(r)
    table = doc.add_table(rows=1, cols=2)
    lc, rc = table.rows[0].cells
    lt, rt = [], []
    for l in lines[sep + 1:]:
        if "|" not in l:
            continue
        a, b = l.split("|", 1)
        lt.append(a.strip())
        rt.append(b.strip())
    for cell, rows in ((lc, lt), (rc, rt)):
        cell.paragraphs[0].text = rows[0]
        for r in rows[1:]:
            if r:
                cell.add_paragraph(r)
    doc.save(str(path))


DROP_PARTS = {"docProps/thumbnail.jpeg", "word/stylesWithEffects.xml"}


def normalise_docx(path):
    """Fixed zip timestamps (reproducible bytes) and drop two optional template parts (-15 KB)."""
    zin = zipfile.ZipFile(path)
    items = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    zin.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            if name in DROP_PARTS:
                continue
            if name.endswith(".rels") or name == "[Content_Types].xml":
                s = data.decode("utf-8")
                for part in DROP_PARTS:
                    short = part.split("/", 1)[1] if part.startswith("word/") else part
                    s = re.sub(r"<Relationship [^>]*Target=\"/?(%s)\"[^>]*/>" % re.escape(short), "", s)
                    s = re.sub(r"<Override [^>]*PartName=\"/%s\"[^>]*/>" % re.escape(part), "", s)
                data = s.encode("utf-8")
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data, compresslevel=9)
    Path(path).write_bytes(buf.getvalue())


# ----------------------------------------------------------------------------------------------
# Text extraction (verification only)
# ----------------------------------------------------------------------------------------------
def pdf_extract(path):
    from pypdf import PdfReader
    r = PdfReader(str(path))
    return "\n".join(p.extract_text() for p in r.pages), len(r.pages)


def docx_extract(path):
    """Body paragraphs and table cells in order, then headers, then hyperlink targets."""
    from docx import Document
    d = Document(str(path))
    parts = []
    body = d.element.body
    for child in body.iterchildren():
        tag = child.tag.split("}")[1]
        if tag == "p":
            parts.append("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")))
        elif tag == "tbl":
            for cell in child.iter():
                if cell.tag.endswith("}p"):
                    parts.append("".join(t.text or "" for t in cell.iter() if t.tag.endswith("}t")))
    for s in d.sections:
        parts += [p.text for p in s.header.paragraphs]
    links = [r.target_ref for r in d.part.rels.values() if r.is_external]
    return "\n".join(parts), links


def norm_space(s):
    return re.sub(r"\s+", " ", s)


def check_contacts(rid, fmt, text, extra_links=()):
    c = R[rid]["contacts"]
    flat = norm_space(text)
    flat_links = flat + " " + " ".join(extra_links)
    name = c["name"] if fmt != "pdf" else pdf_text(c["name"])
    missing = [x for x in (c["email"], pdf_text(c["phone"]) if fmt == "pdf" else c["phone"]) if x not in flat]
    missing += [name] if name.lower() not in flat.lower() else []  # some resumes print the name in capitals
    low = flat_links.lower().replace("www.", "")
    missing += [l for l in c["links"].values() if l not in low]
    assert not missing, (rid, fmt, missing)


# ----------------------------------------------------------------------------------------------
def main():
    sources = {rid: (FIX / r["source"]).read_text(encoding="utf-8") for rid, r in R.items()}
    jd_text = {jid: (FIX / j["source"]).read_text(encoding="utf-8") for jid, j in JOBS.items()}
    for rid, t in sources.items():
        check_contacts(rid, "source", t)

    # ---- render + verify
    variants = {}  # rid -> {fmt: extracted text}
    info = {}
    for rid, r in R.items():
        src, name, stem = sources[rid], R[rid]["contacts"]["name"], Path(r["source"]).stem
        variants[rid] = {}
        files = {Path(r["source"]).suffix[1:]: r["source"]}
        if "pdf" in r["render"]:
            p = FIX / f"{stem}.pdf"
            (render_pdf_md if r["source"].endswith(".md") else render_pdf_txt)(src, name, p)
            text, pages = pdf_extract(p)
            assert 1 <= pages <= 2, (rid, pages)
            check_contacts(rid, "pdf", text)
            variants[rid]["pdf"] = text
            files["pdf"] = p.name
            info[p.name] = f"{pages} page(s)"
        if "docx" in r["render"]:
            p = FIX / f"{stem}.docx"
            if rid == "r04":
                render_docx_two_column(src, name, p)
            elif r["source"].endswith(".md"):
                hdr = tuple(src.splitlines()[2:3]) if rid == "r02" else ()
                render_docx_md(src, name, p, header_lines=hdr)
            else:
                render_docx_txt(src, name, p)
            normalise_docx(p)
            text, links = docx_extract(p)
            check_contacts(rid, "docx", text, links)
            variants[rid]["docx"] = text
            files["docx"] = p.name
        r["files"] = files
    counts = {f: sum(f in r["files"] for r in R.values()) for f in ("md", "txt", "pdf", "docx")}
    print("formats:", counts)
    assert all(v >= 4 for v in counts.values()), counts

    # ---- reference skills
    gaz = set(json.loads((package_data_dir() / "skills.json").read_text(encoding="utf-8")))
    for rid, r in R.items():
        bad = [s for s in r["intended_skills"] if s not in gaz]
        assert not bad, (rid, "not in gazetteer", bad)
    for jid, j in JOBS.items():
        bad = [s for s in j["required"] + j["nice"] if s not in gaz]
        assert not bad, (jid, "not in gazetteer", bad)

    ferry, fp32 = FerryEmbedder(), Fp32Embedder()
    ex_r, ex_f = make_extractor(ferry), make_extractor(fp32)
    ref, ref_r, n_cand, flips, dmax = {}, {}, {}, 0, 0.0
    for key, text in list(sources.items()) + list(jd_text.items()):
        _, cands, _, _, pr, sr = analyse(ex_r, text)
        _, _, _, _, pf, sf = analyse(ex_f, text)
        ref[key], ref_r[key], n_cand[key] = sf, sr, len(cands)
        flips += int(((pr >= 0.5) != (pf >= 0.5)).sum())
        dmax = max(dmax, float(np.abs(pr - pf).max()) if len(pr) else 0.0)
        print(f"  {key}: {len(cands)} candidates, {len(sf)} skills (fp32), {len(sr)} (ferry encoder)", flush=True)
    by_format = {rid: {fmt: ex_r.extract(t) for fmt, t in v.items()} for rid, v in variants.items()}

    # ---- expected.json
    exp = {
        "as_of": AS_OF,
        "notes": [
            "Generated by infra/models/skills/make_resume_fixtures.py from the hand-written facts in that script "
            "and the output of skill-extractor==0.2.0 (MIT). Edit the script, not this file.",
            "contacts.links are normalised: host + path, lower case, no scheme, no 'www.', no trailing slash.",
            "employment dates: 'YYYY-MM' or 'YYYY'; end null = present (as_of).",
            "reference_skills: skill-extractor 0.2.0 extract(source text, threshold 0.5) with the original fp32 "
            "all-MiniLM-L6-v2 (= the package as published). reference_skills_ferry_encoder: the same pipeline "
            "with functions/models/assets/encoder.nnef.tar (as ONNX, infra/models/.work/encoder.onnx), i.e. what an exact Rust port must return on the source text.",
            "must_find_skills: hand-picked skills that are in the gazetteer AND that the package extracts from the "
            "source with both encoders AND from the pypdf / python-docx text of every rendered variant.",
            "written_but_rejected: hand-picked skills written in the resume that the package does NOT return "
            "(the MLP rejects them in that context) -- do not require them.",
            "ranking: 'first' must rank 1st; 'last' must rank last (or 'last_any_of': the last one is one of these); "
            "'top3_any_order': the top three in any order; 'above': [a, b] means a ranks above b. "
            "reference_overlap: |required_skills & reference_skills(resume)| / |required_skills| (for information).",
        ],
        "resumes": {}, "jobs": {},
    }
    for rid, r in R.items():
        must, rejected = [], []
        for s in r["intended_skills"]:
            ok = s in ref[rid] and s in ref_r[rid] and all(s in v for v in by_format[rid].values())
            (must if ok else rejected).append(s)
        exp["resumes"][rid] = {
            "files": r["files"], "layout": r["layout"], "contacts": r["contacts"], "education": r["education"],
            "employment": r["employment"], "years_experience": r["years_experience"],
            "must_find_skills": sorted(must), "written_but_rejected": sorted(rejected),
            "reference_skills": ref[rid], "reference_skills_ferry_encoder": ref_r[rid],
            "reference_candidates": n_cand[rid], "notes": r["notes"],
        }
    ids = list(R)
    for jid, j in JOBS.items():
        req = j["required"]
        overlap = {rid: round(len(set(req) & set(ref[rid])) / len(req), 3) for rid in ids}
        order = sorted(ids, key=lambda k: -overlap[k])
        rk = j["ranking"]
        # the hand-written ranking must be consistent with plain skill overlap against the reference
        assert overlap[rk["first"]] > max(v for k, v in overlap.items() if k != rk["first"]), (jid, overlap)
        lowest = min(overlap.values())
        if "last" in rk:
            assert overlap[rk["last"]] == lowest, (jid, overlap)
        else:
            assert any(overlap[k] == lowest for k in rk["last_any_of"]), (jid, overlap)
            assert all(overlap[k] <= lowest + 0.1 for k in rk["last_any_of"]), (jid, overlap)
        if "top3_any_order" in rk:  # a clear gap between the third and the fourth
            assert set(rk["top3_any_order"]) == set(order[:3]) and overlap[order[2]] > overlap[order[3]], (jid, order)
        for a, b in rk["above"]:
            assert overlap[a] > overlap[b], (jid, a, b, overlap)
        print(f"  {jid} overlap order: " + ", ".join(f"{k}={overlap[k]:.2f}" for k in order))
        exp["jobs"][jid] = {
            "file": j["source"], "title": j["title"], "required_skills": req, "nice_to_have": j["nice"],
            "required_not_extracted_from_jd": [s for s in req if s not in ref[jid]],
            "reference_skills": ref[jid], "reference_skills_ferry_encoder": ref_r[jid],
            "reference_candidates": n_cand[jid], "ranking": rk, "reference_overlap": overlap,
        }
    exp["reference_stats"] = {
        "ferry_vs_fp32_decision_flips": flips, "ferry_vs_fp32_max_abs_prob_diff": round(dmax, 4),
        "candidates": sum(n_cand.values()),
        "skill_sets_differing_ferry_vs_fp32": sorted(k for k in ref if ref[k] != ref_r[k]),
    }
    (FIX / "expected.json").write_text(json.dumps(exp, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("reference stats:", exp["reference_stats"])
    for f in sorted(FIX.iterdir()):
        print(f"  {f.name}: {f.stat().st_size:,} bytes {info.get(f.name, '')}")


if __name__ == "__main__":
    sys.exit(main())
