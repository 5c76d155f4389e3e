"""A node program of js/ that prints one JSON event per line ({"ev": ...}), run by a test: its
events kept in order by a reader thread, and a bounded stop."""

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

JS_DIR = Path(__file__).resolve().parent / "js"


class JsonLinesProcess:
    def __init__(self, script, args, stderr=subprocess.PIPE):
        self.proc = subprocess.Popen(["node", str(JS_DIR / script), json.dumps(args)], cwd=JS_DIR,
                                     stdout=subprocess.PIPE, stderr=stderr)
        self.events = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)

    def events_of(self, kind):
        with self.lock:
            return [e for e in self.events if e.get("ev") == kind]

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout=25):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
