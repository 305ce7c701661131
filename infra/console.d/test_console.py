"""The web console in a real headless Chromium, against a real `ferry serve`.

Run by infra/console, which starts the server and passes FERRY_BASE,
FERRY_TOKEN, FERRY_ROOT and FERRY_CONSOLE_SHOTS. Every check compares what the
page shows with what the API answers for the same job, so a console that
shows stale, shifted or made-up values fails. Every wait is bounded.
"""

import csv
import json
import os
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["FERRY_BASE"]
TOKEN = os.environ["FERRY_TOKEN"]
API_KEY = os.environ["FERRY_API_KEY"]
ROOT = Path(os.environ["FERRY_ROOT"])
SHOTS = Path(os.environ["FERRY_CONSOLE_SHOTS"])
RESUMES = ROOT / "tests/fixtures/resumes"
JOB_SECS = 120

POSITIVE = "I love it, the battery lasts forever and the screen is gorgeous"
NEGATIVE = "Terrible: it broke after a day and support never answered"


def api(method, path, body=None, headers=None):
    request = urllib.request.Request(
        BASE + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1360,1100"):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


class Console:
    def __init__(self, driver):
        self.driver = driver

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def until(self, what, check, secs=30):
        try:
            ignored = (NoSuchElementException, StaleElementReferenceException)
            wait = WebDriverWait(self.driver, secs, poll_frequency=0.2, ignored_exceptions=ignored)
            return wait.until(lambda _: check())
        except TimeoutException:
            raise AssertionError(f"timed out after {secs} s waiting for {what}") from None

    def visible(self, css, secs=30):
        return self.until(f"{css} to show", lambda: self.find(css).is_displayed() and self.find(css), secs)

    def go(self, view):
        self.find(f'nav a[data-view="{view}"]').click()
        self.visible(f"#view-{view}")

    def type(self, css, text):
        field = self.find(css)
        field.clear()
        # send_keys types character by character; set long values directly.
        self.driver.execute_script("arguments[0].value = arguments[1];", field, text)

    def shot(self, name):
        self.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def check_problem_without_credential(c):
    c.driver.get(BASE + "/")
    c.visible("#view-sentiment")
    assert c.find("#credential-status").text == "no credential"
    c.type("#sentiment-text", POSITIVE)
    c.find("#sentiment-form button").click()
    box = c.visible("#sentiment-problem")
    assert "Authentication required (401)" in box.text, box.text
    assert "Bearer" in box.find_element(By.CSS_SELECTOR, ".detail").text
    assert "request id " in box.text
    c.shot("1-problem")


def check_credential(c):
    c.find("#credential").send_keys(TOKEN)
    c.find("#credential-form button[type=submit]").click()
    c.until("the token's subject", lambda: c.find("#credential-status").text.startswith("token for console"))
    assert c.find("#credential").get_attribute("value") == "", "the credential stays in the field"
    assert TOKEN not in c.driver.current_url
    stored = c.driver.execute_script("return sessionStorage.getItem('ferry.credential')")
    assert json.loads(stored) == {"kind": "bearer", "value": TOKEN}
    assert c.driver.execute_script("return localStorage.length") == 0


def check_sentiment(c):
    c.type("#sentiment-text", "Fantastisk telefon, jag älskar den")
    c.find("#sentiment-form button").click()
    c.until("a Swedish warning", lambda: "Swedish" in c.find("#sentiment-result").text)
    c.type("#sentiment-text", POSITIVE)
    c.find("#sentiment-form button").click()
    c.until("the answer", lambda: c.find("#sentiment-result .label").text.lower() == "positive")
    assert not c.find("#sentiment-problem").is_displayed()
    result = c.find("#sentiment-result")
    assert "language: en" in result.text and len(result.find_elements(By.TAG_NAME, "meter")) == 3
    assert not result.find_elements(By.CSS_SELECTOR, ".warning")
    c.shot("2-sentiment")


def check_api_key(c):
    """An API key goes out as x-api-key: its owner sees its own jobs only."""
    Select(c.find("#credential-kind")).select_by_value("key")
    c.find("#credential").send_keys(API_KEY)
    c.find("#credential-form button[type=submit]").click()
    c.until("the key in use", lambda: c.find("#credential-status").text == "API key set")
    c.type("#sentiment-text", NEGATIVE)
    c.find("#sentiment-form button").click()
    c.until("the answer", lambda: c.find("#sentiment-result .label").text.lower() == "negative")
    c.go("jobs")
    c.until("the key owner's one job", lambda: len(c.all("#jobs-rows tr[data-job]")) == 1)
    c.find("#credential-forget").click()
    c.until("no credential", lambda: c.find("#credential-status").text == "no credential")
    assert c.driver.execute_script("return sessionStorage.getItem('ferry.credential')") is None
    check_credential(c)
    c.go("sentiment")


def wait_for_results(c, secs=JOB_SECS):
    c.until("the job to succeed", lambda: c.find("#batch-status").text == "succeeded", secs)
    return c.visible("#batch-results")


def rows(c):
    return [[td.get_attribute("textContent") for td in tr.find_elements(By.TAG_NAME, "td")] for tr in c.all("#batch-rows tr")]


def check_pasted_batch(c, downloads):
    texts = [f"{POSITIVE} ({n})" if n % 3 else f"{NEGATIVE} ({n})" for n in range(120)]
    c.go("batch")
    c.type("#batch-lines", "\n".join(texts) + "\n\n")
    c.find("#batch-form button[type=submit]").click()
    wait_for_results(c)
    job_id = c.find("#batch-job-id").text
    job = api("GET", f"/v1/jobs/{job_id}")
    assert job["progress"] == {"total": 120, "done": 120, "failed": 0}, job["progress"]
    assert c.find("#batch-progress").get_attribute("value") == "120"
    assert c.find("#batch-page").text == "results 1–50 of 120"
    shown = rows(c)
    assert len(shown) == 50
    answers = api("GET", f"/v1/jobs/{job_id}/results?limit=1000")["results"]
    for row, answer in zip(shown, answers):
        assert row[0] == str(answer["i"]) and row[1] == texts[answer["i"]], (row, answer)
        assert row[2] == answer["sentiment"], (row, answer)
    c.shot("3-batch")
    c.find("#batch-next").click()
    c.until("page 2", lambda: c.find("#batch-page").text == "results 51–100 of 120")
    c.find("#batch-next").click()
    c.until("page 3", lambda: c.find("#batch-page").text == "results 101–120 of 120")
    assert rows(c)[-1][1] == texts[119]
    assert not c.find("#batch-next").is_enabled()
    c.find("#batch-prev").click()
    c.until("page 2 again", lambda: c.find("#batch-page").text == "results 51–100 of 120")

    c.find("#batch-download").click()
    path = downloads / f"ferry-{job_id}.jsonl"
    c.until("the download", lambda: path.exists() and path.stat().st_size > 0)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["i"], x["sentiment"]) for x in lines] == [(x["i"], x["sentiment"]) for x in answers]


def check_pasted_batch_and_download(c):
    check_pasted_batch(c, c.downloads)


def check_files(c):
    with tempfile.TemporaryDirectory() as folder:
        table = Path(folder) / "reviews.csv"
        with table.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "text"])
            writer.writerow(["a", 'Great value, and "fast" shipping'])
            writer.writerow(["b", "Broke after a day,\nreturned it"])
            writer.writerow(["c", "Arrived on Tuesday"])
        c.find("#batch-file").send_keys(str(table))
        c.find("#batch-form button[type=submit]").click()
        wait_for_results(c)
        shown = rows(c)
        assert [r[1] for r in shown] == ['Great value, and "fast" shipping', "Broke after a day,\nreturned it", "Arrived on Tuesday"], shown
        assert shown[0][2] == "positive", shown

        broken = Path(folder) / "broken.jsonl"
        broken.write_text('"fine"\n{"texto": "typo"}\n')
        c.find("#batch-file").send_keys(str(broken))
        c.find("#batch-form button[type=submit]").click()
        box = c.visible("#batch-problem")
        assert "Unreadable JSONL" in box.text and "line 2" in box.text, box.text
        c.find("#batch-file").clear()

    reviews = ROOT / "infra/models/eval/product_reviews.jsonl"
    c.find("#batch-file").send_keys(str(reviews))
    c.find("#batch-form button[type=submit]").click()
    wait_for_results(c)
    # Labelled lines ({"text", "label"}): the text is sent, the label left out.
    first = json.loads(reviews.read_text().splitlines()[0])["text"]
    c.until("the first review", lambda: rows(c)[0][1] == first)
    assert not c.find("#batch-problem").is_displayed()
    assert c.find("#batch-page").text == "results 1–50 of 155"


def check_resume(c):
    c.go("resume")
    c.find("#resume-file").send_keys(str(RESUMES / "r09-jose-alvarez-munoz.pdf"))
    c.find("#resume-jd-file").send_keys(str(RESUMES / "jd2-data-scientist.md"))
    description = (RESUMES / "jd2-data-scientist.md").read_text()
    c.until("the description read", lambda: c.find("#resume-jd").get_attribute("value") == description)
    c.find("#resume-form button[type=submit]").click()
    c.visible("#resume-result", JOB_SECS)
    listed = api("GET", "/v1/jobs?limit=1")["jobs"][0]
    assert listed["task"] == "resume-match" and listed["metadata"]["filename"] == "r09-jose-alvarez-munoz.pdf"
    result = api("GET", f"/v1/jobs/{listed['id']}")["results"][0]
    assert c.find("#resume-score").text == str(result["score"])
    assert c.find("#resume-explanation").text == result["match"]["explanation"]
    skills = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in c.all("#resume-skills tr")]
    assert [s[0] for s in skills] == [s["skill"] for s in result["match"]["skills"]]
    assert [s[2] for s in skills] == [s["status"] for s in result["match"]["skills"]]
    assert "José Álvarez Muñoz" in c.find("#resume-candidate").text

    # Every highlight covers exactly the bytes its offsets name in the text.
    text = result["document"]["text"].encode()
    marks = c.all("#resume-text mark")
    assert marks, "no evidence highlighted"
    kinds = set()
    for mark in marks:
        start, end = int(mark.get_attribute("data-start")), int(mark.get_attribute("data-end"))
        assert mark.get_attribute("textContent") == text[start:end].decode(), (start, end, mark.get_attribute("textContent"))
        kinds.add(mark.get_attribute("class"))
    assert {"matched", "contact"} <= kinds, kinds
    assert text.index(b"\xc3") < min(int(m.get_attribute("data-start")) for m in marks if m.get_attribute("class") == "matched")
    # The whole text is there, highlights included.
    assert c.find("#resume-text").get_attribute("textContent") == result["document"]["text"]

    picked = c.all("#resume-skills tr.pick")[0]
    picked.click()
    c.until("the evidence in focus", lambda: len(c.all("#resume-text mark.focus")) == 1)
    c.driver.execute_script("window.scrollTo(0, 0)")
    c.shot("4-resume")
    c.driver.execute_script("document.getElementById('resume-text').scrollIntoView()")
    c.shot("5-resume-evidence")


def check_jobs(c):
    long = api("POST", "/v1/jobs", {"task": "sentiment", "inputs": [f"{NEGATIVE}, day {n}" for n in range(10_000)]})
    c.go("jobs")
    row = c.visible(f'#jobs-rows tr[data-job="{long["id"]}"]')
    assert row.find_element(By.CSS_SELECTOR, ".status").text in ("queued", "running")
    c.shot("6-jobs")
    row.find_element(By.CSS_SELECTOR, "button.cancel").click()
    c.until(
        "the job canceled",
        lambda: c.find(f'#jobs-rows tr[data-job="{long["id"]}"] .status').text == "canceled",
    )
    assert api("GET", f"/v1/jobs/{long['id']}")["status"] == "canceled"
    assert not c.find(f'#jobs-rows tr[data-job="{long["id"]}"]').find_elements(By.CSS_SELECTOR, "button.cancel")

    Select(c.find("#jobs-status")).select_by_visible_text("canceled")
    c.find("#jobs-form button").click()
    c.until("the filter", lambda: [tr.get_attribute("data-job") for tr in c.all("#jobs-rows tr")] == [long["id"]])
    Select(c.find("#jobs-status")).select_by_visible_text("any")
    c.find("#jobs-form button").click()
    resume = c.visible('#jobs-rows tr:nth-child(2)')
    assert "r09-jose-alvarez-munoz.pdf" in resume.text
    resume.find_element(By.CSS_SELECTOR, "button.open").click()
    c.visible("#resume-result")
    assert c.driver.current_url.endswith("#resume")


def check_browser_log(c):
    """No CSP violation, script error or console.error: only the network
    failures the checks provoked (the 401 without a credential)."""
    entries = c.driver.get_log("browser")
    unexpected = [e for e in entries if e["level"] == "SEVERE" and not (e.get("source") == "network" and " 401 " in e["message"])]
    assert not unexpected, unexpected
    csp = [e for e in entries if "Content Security Policy" in e["message"]]
    assert not csp, csp


def main():
    SHOTS.mkdir(parents=True, exist_ok=True)
    downloads = Path(tempfile.mkdtemp())
    driver = browser(downloads)
    console = Console(driver)
    console.downloads = downloads
    failures = 0
    checks = [
        check_problem_without_credential,
        check_credential,
        check_sentiment,
        check_api_key,
        check_pasted_batch_and_download,
        check_files,
        check_resume,
        check_jobs,
        check_browser_log,
    ]
    try:
        for check in checks:
            name = check.__name__
            started = time.monotonic()
            try:
                check(console)
                print(f"ok   {name} ({time.monotonic() - started:.1f} s)")
            except Exception:
                failures += 1
                print(f"FAIL {name}")
                traceback.print_exc()
                console.shot(f"failed-{name}")
    finally:
        driver.quit()
    print(f"screenshots in {SHOTS}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
