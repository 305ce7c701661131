//! Real Lambda binaries under cargo-lambda's runtime emulator: `cargo lambda
//! watch --only-lambda-apis` serves the Lambda Runtime API on a free loopback
//! port, the binary under test polls it exactly as it polls Lambda's, and
//! `cargo lambda invoke --data-file` sends it events.
//!
//! Tests using this need the AWS emulator (`eval "$(infra/emulator start)"`)
//! and cargo-lambda (`.venv/bin/cargo-lambda`, installed by `infra/test` and
//! `.ci/run`); without them they are skipped locally and fail under CI.

use serde_json::Value;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// cargo-lambda routes invocations without a function name to `_`, the name
/// it gives the one function it does not start itself.
const FUNCTION: &str = "_";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(90);

pub struct LambdaFunction {
    cargo_lambda: PathBuf,
    port: u16,
    emulator: Child,
    function: Child,
    logs: tempfile::NamedTempFile,
    emulator_logs: tempfile::NamedTempFile,
    scratch: tempfile::TempDir,
}

/// Whether the AWS emulator and cargo-lambda are both available; `None` skips
/// the test (a panic under CI, where they must be).
pub fn prerequisites() -> Option<PathBuf> {
    if !crate::emulator_running() {
        return None;
    }
    let cargo_lambda = cargo_lambda();
    let found = crate::skip_unless(
        cargo_lambda.is_some(),
        "cargo-lambda not found (set FERRY_CARGO_LAMBDA, or run infra/test)",
    );
    found.then_some(cargo_lambda).flatten()
}

fn cargo_lambda() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FERRY_CARGO_LAMBDA") {
        return Some(path.into());
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/cargo-lambda");
    if venv.is_file() {
        return Some(venv);
    }
    let on_path = Command::new("cargo-lambda").args(["lambda", "--version"]).output();
    on_path.is_ok_and(|o| o.status.success()).then(|| "cargo-lambda".into())
}

/// The command that runs `binary`: as built, or (for `infra/arm64`) the
/// binary of that name in `FERRY_LAMBDA_BINARY_DIR`, started through
/// `FERRY_LAMBDA_RUNNER` (e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`).
fn runner(binary: &str) -> Command {
    let binary = match std::env::var_os("FERRY_LAMBDA_BINARY_DIR") {
        Some(dir) => Path::new(&dir).join(Path::new(binary).file_name().expect("a binary path")),
        None => binary.into(),
    };
    let runner = std::env::var("FERRY_LAMBDA_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(binary);
            command
        }
        None => Command::new(binary),
    }
}

impl LambdaFunction {
    /// Starts cargo-lambda's runtime emulator and `binary` against it, with
    /// the process environment plus `env`. A secret given by value in `env`
    /// replaces the emulator's secret of that name (its `_ARN`), and a test's
    /// own jobs queue comes without the emulator's shared interactive queue
    /// (other tests' work would land there).
    pub fn start(cargo_lambda: &Path, binary: &str, env: &[(&str, &str)]) -> LambdaFunction {
        let (port, emulator, emulator_logs) = start_emulator(cargo_lambda);
        let logs = tempfile::NamedTempFile::new().unwrap();
        let mut command = runner(binary);
        for (name, _) in env {
            command.env_remove(format!("{name}_ARN"));
        }
        let has = |name: &str| env.iter().any(|(n, _)| *n == name);
        if has("FERRY_QUEUE_URL") && !has("FERRY_INTERACTIVE_QUEUE_URL") {
            command.env_remove("FERRY_INTERACTIVE_QUEUE_URL");
        }
        let function = command
            .envs([
                ("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt").as_str()),
                ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION),
                ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769"),
            ])
            .envs(env.iter().copied())
            .stdout(logs.reopen().unwrap())
            .stderr(logs.reopen().unwrap())
            .spawn()
            .expect("start the function binary");
        let scratch = tempfile::tempdir().unwrap();
        LambdaFunction { cargo_lambda: cargo_lambda.into(), port, emulator, function, logs, emulator_logs, scratch }
    }

    /// Invokes the function with `event` through `cargo lambda invoke
    /// --data-file` and returns its JSON response.
    pub fn invoke(&self, event: &str) -> Value {
        let file = self.scratch.path().join(format!("event-{}.json", uuid::Uuid::now_v7().simple()));
        std::fs::File::create(&file).unwrap().write_all(event.as_bytes()).unwrap();
        let mut child = Command::new(&self.cargo_lambda)
            .args(["lambda", "invoke", "-A", "127.0.0.1", "-P", &self.port.to_string(), "--data-file"])
            .arg(&file)
            .arg(FUNCTION)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cargo lambda invoke");
        let deadline = Instant::now() + INVOKE_TIMEOUT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().ok();
                panic!("cargo lambda invoke did not answer in {INVOKE_TIMEOUT:?}; function logs:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "cargo lambda invoke failed: {}\n{stdout}\nfunction logs:\n{}\nruntime emulator logs:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.logs(),
            std::fs::read_to_string(self.emulator_logs.path()).unwrap_or_default()
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }

    /// Everything the function wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.logs.path()).unwrap_or_default()
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        for child in [&mut self.function, &mut self.emulator] {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// `cargo lambda watch` on a port of its own. When its port is taken it
/// logs nothing and exits, and a check that the port answers would then
/// find the other listener: so ports are never handed out twice in this
/// process, and an emulator that exits is started again on a new port.
fn start_emulator(cargo_lambda: &Path) -> (u16, Child, tempfile::NamedTempFile) {
    for _ in 0..3 {
        let port = free_port();
        let logs = tempfile::NamedTempFile::new().unwrap();
        // --ignore-changes: nothing to rebuild, so no file watcher over the
        // whole checkout (.venv included).
        let mut emulator = Command::new(cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdout(logs.reopen().unwrap())
            .stderr(logs.reopen().unwrap())
            .spawn()
            .expect("start cargo lambda watch");
        if listening(port, &mut emulator) {
            return (port, emulator, logs);
        }
        emulator.kill().ok();
        emulator.wait().ok();
    }
    panic!("cargo lambda watch did not start on any of three ports");
}

fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// Whether `emulator` listens on `port` and is still running a moment later.
fn listening(port: u16, emulator: &mut Child) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline || emulator.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    emulator.try_wait().unwrap().is_none()
}
