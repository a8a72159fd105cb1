"""The README's screenshots, taken from a demo's workdir with headless Chromium (Debian's `chromium`).

Not part of the project's dependencies; run it from an environment with Playwright and optuna-dashboard:

    python -m venv /tmp/shots && /tmp/shots/bin/pip install playwright optuna-dashboard
    /tmp/shots/bin/python docs/take_screenshots.py attpd-work

It starts `mlflow ui` (the project's .venv) and optuna-dashboard on loopback ports, opens the pages a user opens
(in MLflow 3's "Model training" mode), and writes docs/*.png (palette PNGs, well under 300 kB each).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
MLFLOW = DOCS.parent / ".venv" / "bin" / "mlflow"
DASHBOARD = Path(sys.executable).with_name("optuna-dashboard")
CHROMIUM = "/usr/bin/chromium"
EXPAND = 'svg:has(path[d^="M7.25 7.25V4.5"])'  # the run table's expander of a parent run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def api(base: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{base}/api/2.0/mlflow/{path}", data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    return json.load(urllib.request.urlopen(request))


def click(page, selector: str, required: bool = True) -> None:
    try:
        page.locator(selector).first.click(timeout=10_000)
    except Exception:  # a one-time pop-up that is not there
        if required:
            raise
    page.wait_for_timeout(2500)


def save(page, name: str) -> None:
    path = DOCS / name
    page.screenshot(path=path)
    Image.open(path).convert("RGB").quantize(colors=256).save(path, optimize=True)
    print(f"{path}: {path.stat().st_size / 1024:.0f} kB")


def main(workdir: Path) -> None:
    workdir = workdir.resolve()
    mlflow_port, dashboard_port = free_port(), free_port()
    servers = [subprocess.Popen([str(MLFLOW), "ui", "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
                                 "--host", "127.0.0.1", "--port", str(mlflow_port), "--workers", "1"],
                                cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
               subprocess.Popen([str(DASHBOARD), str(workdir / "optuna.journal"), "--host", "127.0.0.1",
                                 "--port", str(dashboard_port)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)]
    base = f"http://127.0.0.1:{mlflow_port}"
    try:
        wait_for(f"{base}/health")
        wait_for(f"http://127.0.0.1:{dashboard_port}/api/studies")
        experiments = {e["name"]: e["experiment_id"]
                       for e in api(base, "experiments/search", {"max_results": 100})["experiments"]}
        transfer = experiments["attpd/transfer"]
        parent = next(r for r in api(base, "runs/search", {"experiment_ids": [transfer]})["runs"]
                      if not any(t["key"] == "mlflow.parentRunId" for t in r["data"].get("tags", [])))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            page.goto(f"{base}/#/experiments/{experiments['attpd/tune/hinet']}")
            page.wait_for_timeout(6000)
            for selector in ('text="Got it"', 'text="Model training"', '[aria-label="Close"]'):  # pop-ups
                click(page, selector, required=False)
            click(page, EXPAND)
            save(page, "mlflow-tune-runs.png")
            page.goto(f"{base}/#/experiments/{transfer}/runs/{parent['info']['run_id']}/artifacts/figures/"
                      f"pd_minus_ross.png")
            page.set_viewport_size({"width": 1500, "height": 1150})
            page.wait_for_timeout(6000)
            save(page, "mlflow-transfer-heatmap.png")
            page.set_viewport_size({"width": 1500, "height": 900})
            page.goto(f"{base}/#/models")
            page.wait_for_timeout(6000)
            click(page, '[aria-label="Close"]', required=False)  # "the new Model Registry UI" pop-up
            save(page, "mlflow-registered-models.png")
            page.goto(f"http://127.0.0.1:{dashboard_port}/dashboard/studies/2")
            page.wait_for_timeout(8000)
            save(page, "optuna-dashboard.png")
            browser.close()
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "attpd-work"))
