#!/usr/bin/env python3
"""Runs README.md's shell examples, in the order shown, against a fresh server, and checks them.

Usage: scripts/readme-check.py [BINARY]   (default target/release/institute-registry)

The server is the release build serving a fresh ./registry.db (created, migrated and seeded on
start) in a scratch directory, which is also where every example runs, with the binary on PATH
as `institute-registry`; `localhost:8080` in an example is the server's port. Each ```sh block
runs whole, with `set -e -o pipefail`, in one bash session: variables and functions a block sets
(a key, an ETag) are there for the blocks after it. A block fails when a command in it fails,
when a request it made (as the server's access log shows) answered 4xx or 5xx without the block
saying so, or when a claim written beside it does not hold.

Claims are HTML comments right above a block, one per line, which a reader of the rendered
README does not see:

    <!-- check: status 304 412 -->      these statuses must be answered (others must be < 400)
    <!-- check: output has TEXT -->     the block's standard output holds TEXT
    <!-- check: output lacks TEXT -->   ... and does not hold TEXT
    <!-- check: file NAME has TEXT -->  a file the block wrote holds TEXT
    <!-- check: needs PROGRAM -->       run only where PROGRAM is installed (else reported)
    <!-- check: skip REASON -->         not run here, and why

A block whose lines start with `$ ` shows commands and what they print: each command runs and
its output must equal the text shown (as JSON when both parse as JSON, but for a problem's
`request_id`, which differs on every run).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCESS = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) ')


def blocks(text):
    """Yields (line number, language, body, directives) of each fenced block."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        directives = []
        j = i - 1
        while j >= 0 and lines[j].startswith("<!-- check:"):
            directives.insert(0, lines[j][len("<!-- check:"):].removesuffix("-->").strip())
            j -= 1
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        yield i + 1, fence.group(1), "\n".join(lines[i + 1:end]), directives
        i = end + 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, server):
    for _ in range(300):
        if server.poll() is not None:
            sys.exit("the server stopped before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("the server was not ready within 30 s")


class Session:
    """One bash session's state carried from block to block (variables and functions)."""

    def __init__(self, work, port, binary):
        self.work = work
        self.port = port
        self.state = os.path.join(work, ".readme-state.sh")
        bin_dir = os.path.join(work, ".bin")
        os.makedirs(bin_dir)
        os.symlink(os.path.abspath(binary), os.path.join(bin_dir, "institute-registry"))
        self.env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"])
        self.env.pop("DATABASE_URL", None)
        open(self.state, "w").close()

    def localize(self, script):
        return script.replace("localhost:8080", f"localhost:{self.port}").replace(
            "127.0.0.1:8080", f"127.0.0.1:{self.port}")

    def run(self, script):
        names = sorted(set(re.findall(r"(?m)(?:^|[;(&|]\s*|\b(?:for|export)\s+)([A-Za-z_][A-Za-z0-9_]*)(?:=|\s+in\s)", script)))
        save = f"declare -p {' '.join(names)} 2>/dev/null >> {self.state}.next || true" if names else ":"
        program = (
            f"source {self.state}\n"
            f"set -e -o pipefail\n"
            f"{self.localize(script)}\n"
            f"set +e\n"
            f"cp {self.state} {self.state}.next\n"
            f"{save}\n"
            f"declare -f >> {self.state}.next\n"
            f"mv {self.state}.next {self.state}\n"
        )
        return subprocess.run(["bash", "-c", program], cwd=self.work, env=self.env,
                              capture_output=True, text=True, timeout=300)


def same_output(shown, printed):
    try:
        answer = json.loads(printed)
        if isinstance(answer, dict):
            answer.pop("request_id", None)  # differs on every run; the README leaves it out
        return json.loads(shown) == answer
    except ValueError:
        return shown.strip() == printed.strip()


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/institute-registry"))
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    work = tempfile.mkdtemp(prefix="readme-check.")
    port = free_port()
    log_path = os.path.join(work, ".server.log")
    log = open(log_path, "w")
    env = dict(os.environ, RUST_LOG="warn,actix_web::middleware::logger=info")
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], cwd=work,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    failures, ran, skipped = [], 0, []
    try:
        wait_ready(port, server)
        session = Session(work, port, binary)
        for line, lang, body, directives in blocks(readme):
            if lang != "sh":
                continue
            skip = next((d for d in directives if d.startswith("skip")), None)
            if skip is not None:
                skipped.append(f"README.md:{line}: {skip[4:].strip()}")
                continue
            missing = [d.split()[1] for d in directives
                       if d.startswith("needs ") and shutil.which(d.split()[1]) is None]
            if missing:
                skipped.append(f"README.md:{line}: needs {', '.join(missing)}, not installed here")
                continue
            ran += 1
            seen = open(log_path).read()
            if body.lstrip().startswith("$ "):
                problems = check_transcript(session, body)
            else:
                result = session.run(body)
                time.sleep(0.3)
                requests = [m.groups() for m in ACCESS.finditer(open(log_path).read()[len(seen):])]
                problems = check_block(body, result, requests, directives, work)
            status = "ok  " if not problems else "FAIL"
            print(f"{status} README.md:{line}: {body.strip().splitlines()[0][:100]}")
            for p in problems:
                print(f"       {p}")
            if problems:
                failures.append(line)
    finally:
        server.terminate()
        server.wait(timeout=30)
    for s in skipped:
        print(f"skip {s}")
    print(f"{ran} blocks run, {len(failures)} failed, {len(skipped)} skipped")
    if failures:
        print(f"server log and files: {work}")
        sys.exit(1)
    shutil.rmtree(work)


def check_block(body, result, requests, directives, work):
    problems = []
    if result.returncode != 0:
        problems.append(f"exit status {result.returncode}: {result.stderr.strip()[-600:]}")
    expected = set()
    for d in directives:
        if d.startswith("status "):
            expected.update(d.split()[1:])
    answered = {status for _, _, status in requests}
    for method, path, status in requests:
        if int(status) >= 400 and status not in expected:
            problems.append(f"{method} {path} answered {status}")
    for status in sorted(expected - answered):
        problems.append(f"no request answered {status}, as the README says one does")
    if not requests and "curl " in body:
        problems.append("no request reached the server")
    for d in directives:
        if d.startswith("output has "):
            if d[len("output has "):] not in result.stdout:
                problems.append(f"the output lacks {d[len('output has '):]!r}: {result.stdout[:400]!r}")
        elif d.startswith("output lacks "):
            if d[len("output lacks "):] in result.stdout:
                problems.append(f"the output holds {d[len('output lacks '):]!r}")
        elif d.startswith("file "):
            name, _, text = d[len("file "):].partition(" has ")
            path = os.path.join(work, name)
            if not os.path.exists(path) or text not in open(path, encoding="utf-8", errors="replace").read():
                problems.append(f"{name} lacks {text!r}")
    return problems


def check_transcript(session, body):
    problems = []
    parts = re.split(r"(?m)^\$ ", body)
    for part in parts[1:]:
        command, _, shown = part.partition("\n")
        result = session.run(command)
        if result.returncode != 0:
            problems.append(f"{command}: exit status {result.returncode}")
        elif not same_output(shown, result.stdout):
            problems.append(f"{command}: prints\n{result.stdout}\n       not what the README shows:\n{shown}")
    return problems


if __name__ == "__main__":
    main()
