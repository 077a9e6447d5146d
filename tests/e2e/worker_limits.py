#!/usr/bin/env python3
"""A server and a separate worker started with the same raised job limits (REEL_MAX_LAYERS in a
shared environment, as the deployment files do): a job over the default limit but within the
raised one is accepted by the API and rendered by the worker, and one over the raised limit is
refused by the API naming it."""

import os

import e2e
from e2e import check, log


def job(layers):
    return {"output": {"width": 160, "height": 120, "fps": 10, "duration": 1},
            "layers": [{"type": "color", "color": "#%02x3366" % (i % 256)}
                       for i in range(layers)]}


def test(reel):
    with e2e.Cluster(reel) as c:
        os.environ["REEL_MAX_LAYERS"] = "600"
        try:
            _, api = c.serve(workers=0)
            c.worker("worker-limits")
        finally:
            del os.environ["REEL_MAX_LAYERS"]

        over_default = api.submit(job(550))
        st = api.wait_terminal(over_default, 60)
        check(st["status"] == "succeeded",
              f"a 550-layer job under a raised limit of 600 ended {st['status']}: "
              f"{st.get('error')}")
        log("550 layers (default limit 500, raised to 600): succeeded on the worker")

        status, _, body = api.request("POST", "/v1/jobs", job(601),
                                      {"Content-Type": "application/json"})
        check(status == 400 and b"limit_exceeded" in body,
              f"601 layers over the raised limit: {status} {body[:200]!r}")
        log("601 layers: 400 limit_exceeded")
        c.ok = True


if __name__ == "__main__":
    e2e.main(test)
