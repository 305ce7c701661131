// Ferry's web console: plain DOM, no framework and no inline script (the
// page's CSP allows scripts from this origin only). It calls the same public
// API any client calls, with the caller's credential kept in this tab's
// session storage and sent as a header, never put in a URL. Text from the API
// is always inserted as text nodes, never as HTML.

const FINAL = new Set(["succeeded", "failed", "canceled"]);
/// What `PUT /v1/documents/{id}` takes with the caller's credential.
const MAX_DIRECT_UPLOAD = 5 * 1024 * 1024;
const RESULTS_PAGE = 50;
const JOBS_PAGE = 20;
const POLL_MS = 600;
const WHEN = { dateStyle: "medium", timeStyle: "short" };
const DOCUMENT_TYPES = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  txt: "text/plain",
  md: "text/markdown",
};

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percent = (x) => `${(100 * x).toFixed(1)}%`;

/** An element with attributes and children (strings become text nodes). */
function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  fill(node, ...children);
  return node;
}

/** Replaces a node's children: nested arrays flattened, null and false left out. */
function fill(node, ...children) {
  const kept = children.flat(Infinity).filter((child) => child != null && child !== false);
  node.replaceChildren(...kept.map((child) => (child instanceof Node ? child : String(child))));
}

// ---- credential -----------------------------------------------------------

const CREDENTIAL = "ferry.credential";

function credential() {
  try {
    return JSON.parse(sessionStorage.getItem(CREDENTIAL));
  } catch {
    return null;
  }
}

function authHeaders() {
  const saved = credential();
  if (!saved) return {};
  return saved.kind === "key" ? { "x-api-key": saved.value } : { authorization: `Bearer ${saved.value}` };
}

/** The claims of a JWT, read only to show whose it is (the API verifies it). */
function claims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}

function showCredential() {
  const saved = credential();
  const status = $("credential-status");
  status.classList.toggle("set", Boolean(saved));
  $("credential-kind").value = saved?.kind ?? "bearer";
  if (!saved) {
    status.textContent = "no credential";
  } else if (saved.kind === "key") {
    status.textContent = "API key set";
  } else {
    const jwt = claims(saved.value);
    const expires = jwt?.exp ? `, expires ${new Date(jwt.exp * 1000).toLocaleString()}` : "";
    status.textContent = jwt?.sub ? `token for ${jwt.sub}${expires}` : "token set";
  }
}

function useCredential(event) {
  event.preventDefault();
  const kind = $("credential-kind").value;
  const value = $("credential").value.trim().replace(/^Bearer\s+/i, "");
  if (value) sessionStorage.setItem(CREDENTIAL, JSON.stringify({ kind, value }));
  $("credential").value = "";
  showCredential();
}

function forgetCredential() {
  sessionStorage.removeItem(CREDENTIAL);
  showCredential();
}

// ---- the API ---------------------------------------------------------------

/** An RFC 9457 problem the API answered (or one the console made up). */
class Problem extends Error {
  constructor(body) {
    super(body.detail ?? body.title);
    this.body = body;
  }
}

async function api(method, path, { json, body, contentType, headers = {} } = {}) {
  const init = { method, headers: { ...authHeaders(), ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
    init.headers["content-type"] = contentType;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Problem({ title: "Network error", detail: `the API could not be reached (${error.message})` });
  }
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const problem = typeof data === "object" ? data : { title: response.statusText, detail: data.slice(0, 300) };
    throw new Problem({ status: response.status, ...problem });
  }
  return { status: response.status, data };
}

/** The job once it is final, long-polling the API. */
async function finished(id) {
  for (;;) {
    const { data } = await api("GET", `/v1/jobs/${id}`, { headers: { prefer: "wait=10" } });
    if (FINAL.has(data.status)) return data;
  }
}

/** A random (v4) UUID; `crypto.randomUUID` exists only on https or localhost. */
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A document under a new id, with the caller's credential. */
async function upload(body, contentType) {
  if (body.size > MAX_DIRECT_UPLOAD) {
    throw new Problem({ title: "File too large", detail: "the console uploads files of at most 5 MiB" });
  }
  const id = uuid();
  await api("PUT", `/v1/documents/${id}`, { body, contentType });
  return id;
}

function showProblem(boxId, error) {
  const box = $(boxId);
  if (!error) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  if (!(error instanceof Problem)) console.error(error);
  const p = error instanceof Problem ? error.body : { title: "Unexpected error", detail: String(error) };
  fill(
    box,
    h("strong", {}, p.title ?? "Error", p.status ? ` (${p.status})` : ""),
    p.detail ? h("p", { class: "detail" }, p.detail) : null,
    p.request_id ? h("small", {}, `request id ${p.request_id}`) : null,
  );
  box.hidden = false;
}

/**
 * Runs `run` with `buttons` disabled, showing any problem in the box
 * `problemId`; then re-enables them and sets the pagers' buttons from state.
 */
async function busy(buttons, problemId, run) {
  buttons.forEach((b) => (b.disabled = true));
  showProblem(problemId, null);
  try {
    await run();
  } catch (error) {
    showProblem(problemId, error);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    syncPagers();
  }
}

/** A form's action, run with its buttons disabled. */
function action(formId, problemId, run) {
  const form = $(formId);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy([...form.querySelectorAll("button")], problemId, run);
  });
}

/** A button's action, run with it disabled. */
function button(id, problemId, run) {
  $(id).addEventListener("click", () => busy([$(id)], problemId, run));
}

// ---- views -----------------------------------------------------------------

function showView() {
  const wanted = location.hash.slice(1);
  const view = document.querySelector(`section[data-view="${CSS.escape(wanted)}"]`) ? wanted : "sentiment";
  for (const section of document.querySelectorAll("section[data-view]")) {
    section.hidden = section.dataset.view !== view;
  }
  for (const link of document.querySelectorAll("nav a[data-view]")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "jobs") loadJobs(0);
}

// ---- one text ----------------------------------------------------------------

function scoresGrid(scores) {
  return h(
    "div",
    { class: "scores" },
    ["negative", "neutral", "positive"].map((label) => [
      h("span", {}, label),
      h("meter", { min: 0, max: 1, value: scores[label] }),
      h("span", { class: "num" }, percent(scores[label])),
    ]),
  );
}

function renderSentiment(result) {
  const box = $("sentiment-result");
  fill(
    box,
    h("div", { class: `label ${result.sentiment}` }, result.sentiment),
    h("p", {}, `confidence ${percent(result.confidence)}`, result.language ? ` · language: ${result.language}` : ""),
    result.warning ? h("p", { class: "warning" }, result.warning) : null,
    scoresGrid(result.scores),
    h("p", { class: "hint" }, `job ${result.job_id} · ${result.model}`),
  );
  box.hidden = false;
}

async function analyse() {
  $("sentiment-result").hidden = true;
  let { status, data } = await api("POST", "/v1/sentiment", { json: { text: $("sentiment-text").value } });
  if (status === 202) {
    const job = await finished(data.id);
    const item = job.results?.[0];
    if (!item || item.error) throw new Problem({ title: "The text was not analysed", detail: item?.error ?? job.error });
    data = { ...item, job_id: job.id };
  }
  renderSentiment(data);
}

// ---- a batch -------------------------------------------------------------------

/** The batch on screen: its texts when the console sent them, and page cursors. */
let batch = null;

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text) {
  const rows = [[]];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[i++];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      rows.at(-1).push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      rows.at(-1).push(field);
      field = "";
      rows.push([]);
    } else field += c;
  }
  rows.at(-1).push(field);
  return rows.filter((row) => row.some((cell) => cell.trim()));
}

/**
 * A chosen file's texts. JSONL lines are a JSON string or an object with a
 * string "text" (other fields, such as an id or a label, are left out, as
 * `ferry predict` does); a line that is neither stops the upload, naming it.
 */
async function batchFile(file) {
  const text = (await file.text()).replace(/^\uFEFF/, "");
  const kind = file.name.split(".").pop().toLowerCase();
  if (kind === "csv") {
    const rows = parseCsv(text);
    const column = rows[0]?.findIndex((cell) => cell.trim().toLowerCase() === "text") ?? -1;
    return (column >= 0 ? rows.slice(1) : rows).map((row) => row[Math.max(column, 0)] ?? "");
  }
  const lines = text.split(/\r?\n/);
  if (kind === "txt") return lines.filter((line) => line.trim());
  const texts = [];
  lines.forEach((line, n) => {
    if (!line.trim()) return;
    const value = jsonOrNull(line);
    const found = typeof value === "string" ? value : value?.text;
    if (typeof found !== "string") {
      throw new Problem({ title: "Unreadable JSONL", detail: `line ${n + 1}: expected a JSON string or an object with a "text" string` });
    }
    texts.push(found);
  });
  return texts;
}

function jsonOrNull(line) {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

async function submitBatch() {
  const file = $("batch-file").files[0];
  let request;
  let texts;
  if (file) {
    texts = await batchFile(file);
    if (!texts.length) throw new Problem({ title: "Nothing to send", detail: `${file.name} holds no texts` });
    const jsonl = texts.map((t) => JSON.stringify(t)).join("\n") + "\n";
    const id = await upload(new Blob([jsonl]), "application/x-ndjson");
    request = { task: "sentiment", document_id: id, metadata: { source: "console", filename: file.name } };
  } else {
    texts = $("batch-lines").value.split(/\r?\n/).filter((line) => line.trim());
    if (!texts.length) throw new Problem({ title: "Nothing to send", detail: "paste one text per line, or choose a file" });
    request = { task: "sentiment", inputs: texts, metadata: { source: "console" } };
  }
  const { data } = await api("POST", "/v1/jobs", { json: request });
  $("batch-file").value = "";
  await openBatch(data.id, texts);
}

function renderBatchJob(job) {
  const { total, done, failed } = job.progress;
  $("batch-job-id").textContent = job.id;
  const status = $("batch-status");
  status.textContent = job.status;
  status.className = `status ${job.status}`;
  $("batch-progress").max = Math.max(total, 1);
  $("batch-progress").value = done + failed;
  $("batch-counts").textContent = `${done + failed} of ${total} read · ${failed} failed`;
  $("batch-error").hidden = !job.error;
  $("batch-error").textContent = job.error ?? "";
  $("batch-cancel").hidden = FINAL.has(job.status);
}

/** Shows a sentiment job: live progress until it is final, then its results. */
async function openBatch(id, texts = []) {
  const mine = { id, texts, cursors: [null], page: 0 };
  batch = mine;
  showProblem("batch-problem", null);
  $("batch-job").hidden = false;
  $("batch-results").hidden = true;
  try {
    for (;;) {
      const { data } = await api("GET", `/v1/jobs/${id}`);
      if (batch !== mine) return;
      renderBatchJob(data);
      if (FINAL.has(data.status)) break;
      await sleep(POLL_MS);
    }
    await resultsPage(0);
  } catch (error) {
    if (batch === mine) showProblem("batch-problem", error);
  }
}

async function resultsPage(page) {
  const mine = batch;
  const cursor = mine.cursors[page];
  const query = new URLSearchParams({ limit: RESULTS_PAGE });
  if (cursor) query.set("cursor", cursor);
  const { data } = await api("GET", `/v1/jobs/${mine.id}/results?${query}`);
  if (batch !== mine) return;
  mine.page = page;
  mine.cursors[page + 1] = data.next_cursor;
  $("batch-rows").replaceChildren(...data.results.map((item) => resultRow(item, mine.texts[item.i])));
  const first = page * RESULTS_PAGE;
  $("batch-page").textContent = data.results.length
    ? `results ${first + 1}–${first + data.results.length} of ${data.progress.total}`
    : "no results";
  syncPagers();
  $("batch-results").hidden = false;
}

function resultRow(item, text) {
  if (item.error) {
    return h("tr", {}, h("td", { class: "num" }, item.i), h("td", { class: "text" }, text ?? ""), h("td", { colspan: 3 }, "—"), h("td", { class: "warning" }, item.error));
  }
  return h(
    "tr",
    {},
    h("td", { class: "num" }, item.i),
    h("td", { class: "text" }, text ?? ""),
    h("td", {}, h("span", { class: `badge ${badgeFor(item.sentiment)}` }, item.sentiment)),
    h("td", { class: "num" }, percent(item.confidence)),
    h("td", {}, item.language ?? "—"),
    h("td", { class: "warning" }, item.warning ?? ""),
  );
}

const badgeFor = (sentiment) => ({ positive: "matched", neutral: "near", negative: "missing" })[sentiment];

async function cancelJob(id) {
  await api("DELETE", `/v1/jobs/${id}`);
}

async function downloadResults() {
  const id = batch.id;
  const response = await fetch(`/v1/jobs/${id}/results?format=jsonl`, { headers: authHeaders() });
  if (!response.ok) throw new Problem(await response.json());
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `ferry-${id}.jsonl` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** Previous and next pages: enabled only where there is one. */
function syncPagers() {
  if (batch) {
    $("batch-prev").disabled = batch.page === 0;
    $("batch-next").disabled = !batch.cursors[batch.page + 1];
  }
  $("jobs-first").disabled = jobs.page === 0;
  $("jobs-next").disabled = !jobs.cursors[jobs.page + 1];
}

// ---- a resume --------------------------------------------------------------------

function documentType(file) {
  const type = DOCUMENT_TYPES[file.name.split(".").pop().toLowerCase()];
  if (type) return type;
  if (Object.values(DOCUMENT_TYPES).includes(file.type)) return file.type;
  throw new Problem({ title: "Unsupported file", detail: "choose a PDF, DOCX, plain text (.txt) or Markdown (.md) resume" });
}

async function matchResume() {
  const file = $("resume-file").files[0];
  const id = await upload(file, documentType(file));
  $("resume-result").hidden = true;
  const waiting = $("resume-wait");
  waiting.textContent = "Reading the resume…";
  waiting.hidden = false;
  try {
    const request = {
      task: "resume-match",
      document_id: id,
      job_description: $("resume-jd").value,
      metadata: { source: "console", filename: file.name },
    };
    let { data: job } = await api("POST", "/v1/jobs", { json: request, headers: { prefer: "wait=30" } });
    if (!FINAL.has(job.status)) job = await finished(job.id);
    showResumeJob(job);
  } finally {
    waiting.hidden = true;
  }
}

function showResumeJob(job) {
  const item = job.results?.[0];
  if (job.status !== "succeeded" || !item || item.error) {
    throw new Problem({ title: `The resume-match job ${job.status}`, detail: item?.error ?? job.error ?? "no result" });
  }
  renderMatch(item);
}

function renderMatch(result) {
  const match = result.match;
  $("resume-score").textContent = match.score;
  const parts = [
    ["Skills covered", match.coverage, 60],
    ["Documents similar", match.similarity, 25],
    ["Experience", match.experience, 15],
  ];
  $("resume-parts").replaceChildren(
    ...parts.map(([name, value, weight]) =>
      h("tr", {}, h("td", {}, name), h("td", { class: "num" }, percent(value)), h("td", { class: "num" }, weight), h("td", { class: "num" }, (value * weight).toFixed(1))),
    ),
  );
  $("resume-explanation").textContent = match.explanation;
  $("resume-candidate").replaceChildren(...candidateFacts(result));
  const jd = result.job_description;
  $("resume-jd-read").replaceChildren(
    ...facts([
      ["Required", jd.required_skills.join(", ") || "—"],
      ["Nice to have", jd.preferred_skills.join(", ") || "—"],
      ["Years asked", jd.required_years ?? "—"],
    ]),
  );
  $("resume-skills").replaceChildren(...match.skills.map(skillRow));
  $("resume-text").replaceChildren(...highlighted(result.document.text, evidenceSpans(result)));
  $("resume-result").hidden = false;
}

function facts(pairs) {
  return pairs.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]);
}

function candidateFacts(result) {
  const c = result.candidate;
  const experience = result.experience;
  return facts([
    ["Name", c.name?.value ?? "—"],
    ["Email", c.email?.value ?? "—"],
    ["Phone", c.phone_e164 ?? c.phone?.value ?? "—"],
    ["LinkedIn", c.links.linkedin?.value ?? "—"],
    ["GitHub", c.links.github?.value ?? "—"],
    ["Website", c.links.website?.value ?? "—"],
    ["Location", c.location?.value ?? "—"],
    ["Experience", experience.years == null ? "not stated" : `${experience.years} years in ${experience.positions.length} positions`],
    ["Format", `${result.document.format}${result.document.pages ? `, ${result.document.pages} pages` : ""}`],
  ]);
}

function skillRow(skill) {
  const found = skill.matched_by
    ? `${skill.matched_by}${skill.status === "near" ? ` (${percent(skill.similarity)} similar)` : ""}`
    : "—";
  const row = h(
    "tr",
    { class: skill.evidence ? "pick" : null, title: skill.evidence ? "show it in the text" : null },
    h("td", {}, skill.skill),
    h("td", {}, skill.required ? "required" : "nice to have"),
    h("td", {}, h("span", { class: `badge ${skill.status}` }, skill.status)),
    h("td", {}, found),
    h("td", { class: "num" }, skill.points.toFixed(1)),
  );
  if (skill.evidence) row.addEventListener("click", () => focusMark(skill.evidence.start));
  return row;
}

function focusMark(start) {
  const mark = document.querySelector(`#resume-text mark[data-start="${start}"]`);
  if (!mark) return;
  document.querySelectorAll("#resume-text mark.focus").forEach((m) => m.classList.remove("focus"));
  mark.classList.add("focus");
  mark.scrollIntoView({ block: "center" });
}

/** What to highlight: the job's skills where the resume shows them, contacts, other skills. */
function evidenceSpans(result) {
  const spans = [];
  for (const skill of result.match.skills) {
    if (skill.evidence) {
      const asked = skill.required ? "required" : "nice to have";
      spans.push({ ...skill.evidence, kind: skill.status, label: `${skill.skill}: ${asked}, ${skill.status}` });
    }
  }
  const c = result.candidate;
  const contacts = { name: c.name, email: c.email, phone: c.phone, location: c.location, ...c.links };
  for (const [name, found] of Object.entries(contacts)) {
    if (found) spans.push({ start: found.start, end: found.end, kind: "contact", label: name });
  }
  for (const skill of result.skills) spans.push({ start: skill.start, end: skill.end, kind: "skill", label: `skill: ${skill.skill}` });
  return spans;
}

/**
 * The text with `<mark>`s over the spans, whose offsets are UTF-8 bytes (as
 * every offset in a result is): slices are cut from the encoded bytes, so a
 * name like "Muñoz" before a skill does not shift its highlight. Where spans
 * overlap, the first listed wins.
 */
function highlighted(text, spans) {
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  const kept = [];
  const order = spans.map((span, rank) => ({ ...span, rank })).sort((a, b) => a.start - b.start || a.rank - b.rank);
  for (const span of order) {
    if (!(span.start >= 0 && span.end > span.start && span.end <= bytes.length)) continue;
    const clash = kept.findIndex((k) => span.start < k.end && k.start < span.end);
    if (clash < 0) kept.push(span);
    else if (span.rank < kept[clash].rank) kept[clash] = span;
  }
  kept.sort((a, b) => a.start - b.start);
  const nodes = [];
  let at = 0;
  for (const span of kept) {
    if (span.start < at) continue;
    nodes.push(decoder.decode(bytes.subarray(at, span.start)));
    const words = decoder.decode(bytes.subarray(span.start, span.end));
    nodes.push(h("mark", { class: span.kind, title: span.label, "data-start": span.start, "data-end": span.end }, words));
    at = span.end;
  }
  nodes.push(decoder.decode(bytes.subarray(at)));
  return nodes;
}

async function readJobDescription() {
  const file = $("resume-jd-file").files[0];
  if (file) $("resume-jd").value = (await file.text()).replace(/^\uFEFF/, "");
}

// ---- jobs ------------------------------------------------------------------------

let jobs = { cursors: [null], page: 0 };

async function loadJobs(page) {
  showProblem("jobs-problem", null);
  try {
    const query = new URLSearchParams({ limit: JOBS_PAGE });
    const status = $("jobs-status").value;
    if (status) query.set("status", status);
    if (page === 0) jobs = { cursors: [null], page: 0 };
    if (jobs.cursors[page]) query.set("cursor", jobs.cursors[page]);
    const { data } = await api("GET", `/v1/jobs?${query}`);
    jobs.page = page;
    jobs.cursors[page + 1] = data.next_cursor;
    $("jobs-rows").replaceChildren(...data.jobs.map(jobRow));
    if (!data.jobs.length) $("jobs-rows").append(h("tr", {}, h("td", { colspan: 6, class: "hint" }, "no jobs")));
    syncPagers();
  } catch (error) {
    $("jobs-rows").replaceChildren();
    showProblem("jobs-problem", error);
  }
}

function jobRow(job) {
  const { total, done, failed } = job.progress;
  const name = job.metadata?.filename;
  const cancel = async (event) => {
    event.target.disabled = true;
    try {
      await cancelJob(job.id);
      await loadJobs(jobs.page);
    } catch (error) {
      showProblem("jobs-problem", error);
    }
  };
  return h(
    "tr",
    { "data-job": job.id },
    h("td", { class: "num" }, job.created_at ? new Date(job.created_at).toLocaleString([], WHEN) : "—"),
    h("td", {}, job.task, name ? h("div", { class: "hint" }, name) : null),
    h("td", {}, h("span", { class: `status ${job.status}` }, job.status)),
    h("td", { class: "num" }, `${done + failed} / ${total}`, failed ? ` (${failed} failed)` : ""),
    h("td", {}, h("code", {}, job.id)),
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", class: "open", onclick: () => openJob(job) }, "Open"),
      FINAL.has(job.status) ? null : h("button", { type: "button", class: "cancel", onclick: cancel }, "Cancel"),
    ),
  );
}

async function openJob(job) {
  if (job.task === "resume-match") {
    location.hash = "#resume";
    try {
      const { data } = await api("GET", `/v1/jobs/${job.id}`);
      showResumeJob(data);
    } catch (error) {
      showProblem("resume-problem", error);
    }
  } else {
    location.hash = "#batch";
    await openBatch(job.id);
  }
}

// ---- wiring ----------------------------------------------------------------------

function start() {
  $("credential-form").addEventListener("submit", useCredential);
  $("credential-forget").addEventListener("click", forgetCredential);
  action("sentiment-form", "sentiment-problem", analyse);
  action("batch-form", "batch-problem", submitBatch);
  action("resume-form", "resume-problem", matchResume);
  action("jobs-form", "jobs-problem", () => loadJobs(0));
  button("batch-prev", "batch-problem", () => resultsPage(batch.page - 1));
  button("batch-next", "batch-problem", () => resultsPage(batch.page + 1));
  button("batch-download", "batch-problem", downloadResults);
  button("batch-cancel", "batch-problem", () => cancelJob(batch.id));
  button("jobs-next", "jobs-problem", () => loadJobs(jobs.page + 1));
  button("jobs-first", "jobs-problem", () => loadJobs(0));
  $("resume-jd-file").addEventListener("change", readJobDescription);
  window.addEventListener("hashchange", showView);
  showCredential();
  showView();
}

start();
