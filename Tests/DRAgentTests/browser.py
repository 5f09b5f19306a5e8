#!/usr/bin/env python3
"""Drive a real headless Chromium through the DevTools protocol over a pipe
(--remote-debugging-pipe: NUL-separated JSON on file descriptors 3 and 4), so
no websocket library is needed. Reads a JSON list of steps on standard input
and prints one JSON result per step, one per line:

  {"goto": URL}                          open a page, wait for its load event
  {"viewport": [WIDTH, HEIGHT]}          emulate a screen of this size
  {"wait": JS, "timeout": SECONDS}       until the expression is truthy
  {"eval": JS}                           the expression's value
  {"screenshot": PATH}                   a PNG of the whole page
The exit status is 1 when a step fails (its error is printed).
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="pgdr-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4. Both
        # ends are first copied above 4, so neither dup2 overwrites the other;
        # close_fds is off because pass_fds would close 3 and 4 after this runs.
        def wire():
            read_end, write_end = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)
            os.close(read_end)
            os.close(write_end)
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--remote-debugging-pipe", "--user-data-dir=" + self.profile, "about:blank"],
            preexec_fn=wire, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)

    def send(self, method, params, session):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        return self.next_id

    def read(self, timeout):
        deadline = time.time() + timeout
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, session=False, timeout=30, **params):
        ident = self.send(method, params, session)
        while True:
            message = self.read(timeout)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("script error: " + json.dumps(result["exceptionDetails"])[:400])
        return result["result"].get("value")

    def goto(self, url):
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        answer = self.call("Page.navigate", session=True, url=url)
        if answer.get("errorText"):
            raise RuntimeError(f"cannot open {url}: {answer['errorText']}")
        deadline = time.time() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.time() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            self.events.append(self.read(deadline - time.time()))
        return self.evaluate("document.readyState")

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        subprocess.run(["rm", "-rf", self.profile])


def main():
    steps = json.load(sys.stdin)
    browser = Browser(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    status = 0
    try:
        for step in steps:
            try:
                if "goto" in step:
                    value = browser.goto(step["goto"])
                elif "viewport" in step:
                    width, height = step["viewport"]
                    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                                 deviceScaleFactor=1, mobile=width < 600)
                    value = [width, height]
                elif "wait" in step:
                    # Truthy as JavaScript judges it (an element comes back as {}).
                    deadline = time.time() + step.get("timeout", 20)
                    check = "!!(" + step["wait"] + ")"
                    value = browser.evaluate(check)
                    while not value:
                        if time.time() > deadline:
                            raise TimeoutError("still false: " + step["wait"])
                        time.sleep(0.2)
                        value = browser.evaluate(check)
                elif "eval" in step:
                    value = browser.evaluate(step["eval"])
                elif "screenshot" in step:
                    shot = browser.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)
                    with open(step["screenshot"], "wb") as f:
                        f.write(base64.b64decode(shot["data"]))
                    value = step["screenshot"]
                else:
                    raise ValueError(f"unknown step {step}")
                print(json.dumps({"ok": True, "value": value}), flush=True)
            except Exception as error:  # report the step that failed and what the page showed, then stop
                try:
                    page = browser.evaluate("document.body ? document.body.innerText.slice(0, 3000) : ''")
                except Exception:
                    page = None
                print(json.dumps({"ok": False, "error": str(error), "step": step, "page": page}), flush=True)
                status = 1
                break
    finally:
        browser.close()
    sys.exit(status)


if __name__ == "__main__":
    main()
