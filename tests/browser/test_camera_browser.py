"""The Predict tab's camera and video in headless Chromium: a fake camera plays a clip made from real photos (a
hand-written y4m file: skimage's astronaut, then its coffee photo); the page shows the frames classified with the
face boxes drawn, the running count and frames/s, and logs an event with its snapshot; a video file uploaded in
the same tab gets its table, CSV and events.

Frames are dropped, never queued: gradio's webcam posts a picture every 0.1 s whatever the server does, the server
keeps the newest one, and the handler takes the newest when it is free. The test counts pictures posted against
frames handled, and checks that no frame is handled after the stream is stopped but the one in hand."""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
from PIL import Image

from browser.appserver import CHROMIUM_ARGS, served
from clips import write_video, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
STATUS = "#wb-live-status"
RECORD = "#wb-live-camera button[aria-label='capture photo']"


def handled(page) -> int:
    """The number of the last frame the status reports (0 before the first)."""
    m = re.search(r"frame (\d+)", page.locator(STATUS).inner_text())
    return int(m.group(1)) if m else 0


def fetch(page, src: str) -> np.ndarray:
    """An image the page shows, as RGB pixels."""
    return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"))


def set_rule(page, event_class: str, confidence: float, frames: int) -> None:
    page.locator("#wb-live-event-class input").click()
    page.get_by_role("option", name=event_class, exact=True).click()
    page.locator("#wb-live-confidence input[type=number]").fill(str(confidence))
    page.locator("#wb-live-confidence input[type=number]").press("Enter")
    page.locator("#wb-live-frames input").fill(str(frames))
    page.locator("#wb-live-frames input").press("Enter")


def test_fake_camera_frames_are_classified_and_an_event_is_logged(tmp_path_factory, faces_run_home):
    home, store = faces_run_home.home, faces_run_home.store
    shots = tmp_path_factory.mktemp("camera_ui_shots")
    clip = write_y4m(home / "camera.y4m", [("astronaut", 30), ("coffee", 10)])  # 4 s at 10 frames/s, looped
    video = write_video(home / "visit.mp4", [("astronaut", 4), ("coffee", 2), ("lfw3", 4)])
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-video-capture={clip}"]
    with served(store) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(60_000)
        posted = []
        page.on("request", lambda r: posted.append(time.monotonic()) if re.search(r"/stream/[^/]+$", r.url) else None)
        page.goto(url)
        page.get_by_role("tab", name="Predict").click()
        page.get_by_role("tab", name="Camera and video").click()
        page.wait_for_function("() => (document.querySelector('#wb-predict-run input')?.value || '') !== ''")
        set_rule(page, "face", 0.5, 2)
        page.locator("#wb-live-camera button", has_text="Access Webcam").click()
        page.locator(RECORD).click()

        # frames come back classified: the count and the rate, then an event with its snapshot
        page.wait_for_function(f"() => /face × 1/.test(document.querySelector('{STATUS}')?.innerText)",
                               timeout=120_000)
        page.wait_for_function(f"() => /[1-9]\\d* events? \\(class 'face'/.test("
                               f"document.querySelector('{STATUS}')?.innerText)", timeout=120_000)
        page.wait_for_function(f"() => / [0-9.]+ frames\\/s/.test(document.querySelector('{STATUS}')?.innerText)")
        page.wait_for_function("() => document.querySelectorAll('#wb-events-snapshots img').length >= 1")
        assert "face" in page.locator("#wb-events-table").inner_text()
        frame_src = page.locator("#wb-live-frame img").get_attribute("src")
        assert frame_src
        page.screenshot(path=str(shots / "camera.png"), full_page=True)

        # the frame shown is the camera's picture, drawn over; the event's snapshot has the face box in class
        # 'face''s colour (colour 0)
        assert fetch(page, frame_src).shape == (480, 640, 3)
        snapshot = fetch(page, page.locator("#wb-events-snapshots img").first.get_attribute("src"))
        blue = (np.abs(snapshot.astype(int) - (0, 114, 178)).max(axis=2) < 40).sum()
        assert snapshot.shape == (480, 640, 3) and blue > 200, blue

        # dropped, not queued: at most one frame (the one in hand) is handled after the stream stops
        time.sleep(5)
        page.locator(RECORD).click()  # stop
        stopped_at, sent = handled(page), len(posted)
        time.sleep(4)
        after = handled(page)
        print(f"\nposted {sent} pictures, handled {after} frames ({sent - after} dropped) in "
              f"{posted[-1] - posted[0]:.1f} s; {after - stopped_at} handled after stop")
        assert 0 <= after - stopped_at <= 1 and after <= sent

        # a video file in the same tab: its table, the CSV and its events
        page.locator("#wb-video-file input[type=file]").set_input_files(str(video))
        page.locator("#wb-video-every input").fill("1")
        page.locator("#wb-video-go").click()
        page.wait_for_function("() => /visit.mp4: 10 frames sampled/.test("
                               "document.querySelector('#wb-video-status')?.innerText)", timeout=120_000)
        status = page.locator("#wb-video-status").inner_text()
        assert re.search(r"2 events \(class 'face'", status), status
        assert "face" in page.locator("#wb-video-table").inner_text()
        csv = page.locator("#wb-video-csv a").first.get_attribute("href")
        rows = page.request.get(csv).text().splitlines()
        assert rows[0].startswith("video,time_s,frame,crop,x,y,w,h,class,confidence") and len(rows) >= 11
        assert all(r.startswith("visit.mp4,") for r in rows[1:])  # the upload's name, not its temporary path
        page.wait_for_function("() => document.querySelectorAll('#wb-events-snapshots img').length == 2")
        page.screenshot(path=str(shots / "video.png"), full_page=True)

        # a video cut off while recording: refused with the reason, named as the user named it
        broken = home / "broken.mp4"
        broken.write_bytes(video.read_bytes()[:20_000])
        page.locator("#wb-video-file button[aria-label='Clear']").click()
        page.locator("#wb-video-file input[type=file]").set_input_files(str(broken))
        page.locator("#wb-video-go").click()
        toast = page.locator(".toast-body", has_text="broken.mp4")
        toast.wait_for()
        assert "broken.mp4: an MP4/MOV file without its index (moov box)" in toast.inner_text()
        assert "/tmp" not in toast.inner_text()
        browser.close()
