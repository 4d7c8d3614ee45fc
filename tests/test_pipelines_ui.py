"""The Dagster UI as a researcher opens it: `dagster dev` on loopback, headless Chromium.

Marked `browser` and skipped unless GANTK_BROWSER_TESTS=1 (`.ci/run` installs Debian's
chromium and chromium-driver and sets it). The screenshot of the asset graph is written to
$GANTK_UI_SCREENSHOT (default: the test's tmp folder).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.plugin_package import write_plugin_package
from tests.process_group import reset_sigint, stop_group

REPO = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
GROUPS = {"ingest", "dedup", "train", "evaluate", "visualize", "experiments"}
START_TIMEOUT_S = 240

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("GANTK_BROWSER_TESTS") != "1",
                       reason="browser check: set GANTK_BROWSER_TESTS=1 (needs chromium and "
                              "chromium-driver)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dagster_dev(tmp_path: Path, command: list[str]):
    """Start `command` (dagster dev / dg dev) in its own process group; stop the group."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    plugins = write_plugin_package(tmp_path / "site")
    env = {**os.environ, "DAGSTER_HOME": str(home), "GANTK_HOME": str(tmp_path / "gantk"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(plugins),
                                                        os.environ.get("PYTHONPATH")]))}
    log = open(tmp_path / "dagster-dev.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=reset_sigint)
    try:
        yield proc
    finally:
        stop_group(proc, timeout=60)
        log.close()


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_for_groups(url: str, proc: subprocess.Popen, log: Path) -> dict[str, list[str]]:
    """Poll GraphQL until the code location has loaded; return asset names by group."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster dev exited: {log.read_text()[-3000:]}"
        try:
            nodes = _graphql(url, "{ assetNodes { assetKey { path } groupName } }")
            nodes = nodes["data"]["assetNodes"]
        except (OSError, KeyError, TypeError, ValueError):
            nodes = []
        if nodes:
            groups: dict[str, list[str]] = {}
            for node in nodes:
                groups.setdefault(node["groupName"], []).append("/".join(node["assetKey"]["path"]))
            return groups
        time.sleep(2)
    raise AssertionError(f"no assets after {START_TIMEOUT_S}s: {log.read_text()[-3000:]}")


DEMO_PARTITION = {"dagster/partition": "dcgan|fashion-mnist",
                  "dagster/partition/architecture": "dcgan",
                  "dagster/partition/dataset": "fashion-mnist"}
STORE_CONFIG = {"ops": {"image_store": {"config": {"limit": 128}}}}
# steps in run config win over the demo job's 300-step tag (tests/test_pipelines_launch.py
# checks the tag through `dg launch`)
DEMO_CONFIG = {"ops": {
    "trained_model": {"config": {"steps": 4, "batch_size": 16, "device": "cpu",
                                 "overrides": ["model.ngf=8", "model.ndf=8", "log_every=2"]}},
    **{name: {"config": {"device": "cpu"}}
       for name in ("eval_pixel_stats", "eval_pixel_stats_strict", "viz_sample_sheet")}}}
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
RUN_TIMEOUT_S = 480


def launch(url: str, log: Path, job: str, config: dict, tags: dict[str, str],
           assets: list[str] | None = None) -> str:
    """Launch `job` through GraphQL (as the UI's Launch button does) and wait for it to
    succeed; returns the run id."""
    selector = {"repositoryLocationName": "gantk", "repositoryName": "__repository__",
                "jobName": job}
    if assets:
        selector["assetSelection"] = [{"path": [name]} for name in assets]
    params = {"selector": selector, "runConfigData": config,
              "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
    launched = _graphql(url, LAUNCH, {"p": params})["data"]["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        status = _graphql(url, STATUS, {"id": run_id})["data"]["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(3)
    assert status == "SUCCESS", f"{job} run {run_id} ended {status}: {log.read_text()[-3000:]}"
    return run_id


def run_demo(url: str, log: Path) -> str:
    """The demo data (image_store partition fashion-mnist), then the `demo` job."""
    launch(url, log, "__ASSET_JOB", STORE_CONFIG, {"dagster/partition": "fashion-mnist"},
           assets=["image_store"])
    return launch(url, log, "demo", DEMO_CONFIG, DEMO_PARTITION)


def screenshot_graph(url: str, path: Path) -> tuple[str, int]:
    """Open the global asset graph in headless Chromium and save a PNG, then the model's
    sample grid; returns the graph page's text and the sample image's width."""
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--window-size=1800,1200", f"--user-data-dir={profile}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            driver.get(f"{url}/asset-groups")
            WebDriverWait(driver, 120).until(
                lambda d: all(g in d.find_element(By.TAG_NAME, "body").text for g in GROUPS))
            text = driver.find_element(By.TAG_NAME, "body").text
            _expand_groups(driver)
            driver.save_screenshot(str(path))
            sample_width = _show_samples(driver, url, path.with_name(path.stem + "-samples.png"))
        finally:
            driver.quit()
    return text, sample_width


def _show_samples(driver, url: str, path: Path) -> int:
    """Open trained_model's latest materialization, show the `samples` markdown, and return
    the rendered image's natural width (0 if it did not render)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/assets/trained_model?view=events&partition=dcgan%7Cfashion-mnist")
    show = WebDriverWait(driver, 60).until(
        lambda d: d.find_elements(By.XPATH, "//*[contains(text(), 'Show Markdown')]"))
    driver.execute_script("arguments[0].click()", show[0])
    images = WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "img[src^='data:image/png;base64,']"))
    time.sleep(1)
    driver.save_screenshot(str(path))
    return int(images[0].get_attribute("naturalWidth") or 0)


def _expand_groups(driver) -> None:
    """Open every collapsed group (the UI remembers it), reload, and zoom out to fit."""
    from selenium.webdriver.common.by import By

    unfold = "foreignObject.group [aria-label='unfold_more']"
    for _ in GROUPS:
        icons = driver.find_elements(By.CSS_SELECTOR, unfold)
        if not icons:
            break
        driver.execute_script("arguments[0].click()", icons[0])
        time.sleep(1.5)
    driver.refresh()
    time.sleep(8)  # the graph lays out again with every group open
    zoom_out = driver.find_element(By.CSS_SELECTOR, "[aria-label='zoom_out']")
    for _ in range(4):
        driver.execute_script("arguments[0].closest('button').click()", zoom_out)
        time.sleep(0.5)
    time.sleep(2)


def test_ui_shows_every_group_and_runs_the_demo(tmp_path):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("GANTK_BROWSER_TESTS=1 but chromium/chromium-driver are not installed: "
                    "apt-get install -y chromium chromium-driver")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)]
    with dagster_dev(tmp_path, command) as proc:
        groups = wait_for_groups(url, proc, tmp_path / "dagster-dev.log")
        assert set(groups) == GROUPS
        assert "trained_model" in groups["train"] and groups["ingest"] == ["image_store"]
        assert "viz_sample_sheet" in groups["visualize"]
        run_demo(url, tmp_path / "dagster-dev.log")
        shot = Path(os.environ.get("GANTK_UI_SCREENSHOT", tmp_path / "asset-graph.png"))
        text, sample_width = screenshot_graph(url, shot)
    assert "Global asset lineage" in text
    assert sample_width >= 512, f"the sample grid is {sample_width} px wide: not readable"
    from PIL import Image

    with Image.open(shot) as picture:
        assert picture.size[0] >= 1000
        assert len(picture.convert("RGB").getcolors(1 << 20) or []) > 50  # not a blank page


def test_dg_dev_serves_every_group(tmp_path):
    """`dg dev` in the repo root finds the project from pyproject's [tool.dg] tables."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "import sys; from dagster_dg_cli.cli import main; "
               "sys.argv[0] = 'dg'; sys.exit(main())",
               "dev", "--host", "127.0.0.1", "--port", str(port)]
    with dagster_dev(tmp_path, command) as proc:
        groups = wait_for_groups(url, proc, tmp_path / "dagster-dev.log")
    assert set(groups) == GROUPS
