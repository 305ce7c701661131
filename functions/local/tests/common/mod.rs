//! The real `ferry` binary on a free loopback port, for the end-to-end,
//! crash and hostile-peer tests.

#![allow(dead_code)] // each test binary uses its own part of this

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

pub struct Served {
    pub child: Child,
    pub base: String,
}

impl Served {
    /// Starts `ferry serve --port 0` and waits until /healthz answers.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Served {
        Served::start_with_env(data_dir, extra, &[])
    }

    /// With a test's own jobs queue (`FERRY_QUEUE_URL` in `env`) and no
    /// interactive queue, the emulator's shared interactive queue is left
    /// out: another test's server must not take this one's work.
    pub fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Served {
        let mut command = Command::new(FERRY);
        let has = |name: &str| env.iter().any(|(n, _)| *n == name);
        if has("FERRY_QUEUE_URL") && !has("FERRY_INTERACTIVE_QUEUE_URL") {
            command.env_remove("FERRY_INTERACTIVE_QUEUE_URL");
        }
        let mut child = command
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .envs(env.iter().copied())
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferry starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("ferry listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(60)).expect("ferry announces its address");
        let served = Served { child, base };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("{}/healthz", served.base)).call().is_err() {
            assert!(Instant::now() < deadline, "healthz never answered");
            std::thread::sleep(Duration::from_millis(50));
        }
        served
    }

    pub fn post(&self, path: &str, token: &str, body: Value, prefer: Option<&str>) -> (u16, Value) {
        let mut req = ureq::post(&format!("{}{path}", self.base)).set("authorization", &format!("Bearer {token}"));
        if let Some(prefer) = prefer {
            req = req.set("prefer", prefer);
        }
        respond(req.send_json(body))
    }

    pub fn get(&self, path: &str, token: &str, prefer: Option<&str>) -> (u16, Value) {
        let mut req = ureq::get(&format!("{}{path}", self.base)).set("authorization", &format!("Bearer {token}"));
        if let Some(prefer) = prefer {
            req = req.set("prefer", prefer);
        }
        respond(req.call())
    }

    pub fn signal(&mut self, signal: &str) -> std::process::ExitStatus {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.wait_exit(Duration::from_secs(60)).expect("ferry did not stop")
    }

    /// The exit status once the process has ended, or `None` after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn respond(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    match result {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("request failed: {e}"),
    }
}

pub fn token(data_dir: &Path, sub: &str) -> String {
    let out = Command::new(FERRY).args(["token", "--sub", sub, "--data-dir"]).arg(data_dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "token prints the token and only that");
    stdout.trim().to_owned()
}

/// Whether the AWS emulator is running; under CI it must be.
pub fn emulator_running() -> bool {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        assert!(std::env::var_os("CI").is_none(), "AWS_ENDPOINT_URL is not set: eval \"$(infra/emulator start)\"");
        eprintln!("skipped: the AWS emulator is not running (eval \"$(infra/emulator start)\")");
        return false;
    }
    true
}

/// A queue of the test's own on the AWS emulator, or `None` (skipped) when
/// the emulator is not running; under CI that is a failure.
pub fn emulator_queue(runtime: &tokio::runtime::Runtime, name: &str) -> Option<String> {
    if !emulator_running() {
        return None;
    }
    let name = format!("ferry-{name}-{}", std::process::id());
    runtime.block_on(async {
        let sqs = ferry_aws::sqs_client(&ferry_aws::config().await);
        let created = sqs.create_queue().queue_name(name).send().await.expect("CreateQueue");
        Some(created.queue_url().unwrap().to_string())
    })
}

pub fn delete_queue(runtime: &tokio::runtime::Runtime, queue_url: &str) {
    runtime.block_on(async {
        let sqs = ferry_aws::sqs_client(&ferry_aws::config().await);
        sqs.delete_queue().queue_url(queue_url).send().await.expect("DeleteQueue");
    });
}

/// Sends a raw HTTP/1.1 request: `head` (request line and headers, without
/// the blank line), then `body` in 64 KiB writes, stopping when the server
/// stops reading; returns the status code of the answer.
pub fn raw_status(base: &str, head: &str, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(format!("{head}\r\nconnection: close\r\n\r\n").as_bytes()).unwrap();
    for chunk in body.chunks(64 * 1024) {
        if stream.write_all(chunk).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

/// A process's resident set (`VmRSS`) or its peak (`VmHWM`), in KiB.
pub fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find_map(|l| l.strip_prefix(field).and_then(|l| l.strip_prefix(':'))).unwrap();
    line.split_whitespace().next().unwrap().parse().unwrap()
}

pub fn rss_kb(pid: u32) -> u64 {
    proc_kb(pid, "VmRSS")
}

/// A webhook receiver on 127.0.0.1: answers each POST with the next status
/// of `statuses` (the last one repeats), after `delay`, and records the
/// `webhook-id` of every request it read.
pub struct Receiver {
    pub url: String,
    pub hits: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn start(statuses: Vec<u16>, delay: Duration) -> Receiver {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook?token=secret-in-the-query", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = std::sync::Arc::clone(&hits);
        std::thread::spawn(move || {
            let mut answered = 0usize;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut request = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                // The head, then as much body as it declares.
                let (head_end, length) = loop {
                    let Ok(n) = stream.read(&mut buf) else { break (None, 0) };
                    if n == 0 {
                        break (None, 0);
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0usize);
                        break (Some(end + 4), length);
                    }
                };
                let Some(head_end) = head_end else { continue };
                while request.len() < head_end + length {
                    match stream.read(&mut buf) {
                        Ok(n) if n > 0 => request.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
                let id = head.lines().find_map(|l| l.strip_prefix("webhook-id:")).unwrap_or("").trim().to_owned();
                recorded.lock().unwrap().push(id);
                std::thread::sleep(delay);
                let status = statuses.get(answered).or(statuses.last()).copied().unwrap_or(200);
                answered += 1;
                let _ = stream.write_all(format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n").as_bytes());
            }
        });
        Receiver { url, hits }
    }

    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}
