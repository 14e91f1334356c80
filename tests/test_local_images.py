"""The local cluster's images (scripts/local_images.py) are exactly the references the
committed stacks render, at the versions the project's tools are built at."""

from __future__ import annotations

import re

import pytest

import local_images
from harness import ROOT, run_program, stack_file_config

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))


def rendered_images(run) -> set[str]:
    templates = [r.inputs["spec"]["template"] for r in run.resources if r.kind in ("Deployment", "Job")]
    for group_set in run.of_kind("LeaderWorkerSet"):
        groups = group_set.inputs["spec"]["leaderWorkerTemplate"]
        templates += [groups["leaderTemplate"], groups["workerTemplate"]]
    return {
        c["image"] for t in templates for c in t["spec"]["containers"] + t["spec"].get("initContainers", [])
    }


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_image_a_stack_renders_is_built_locally_but_rclones(stack_file):
    images = rendered_images(run_program(stack_file_config(stack_file)))
    # rclone (S3 sources) is the one image no local stack runs on the real node.
    missing = {
        image for image in images if image not in local_images.REFS and not image.startswith("rclone/")
    }
    assert missing == set()


def test_image_versions_follow_the_tools_build():
    tools = (ROOT / "scripts" / "tools.sh").read_text()
    assert re.search(r'^GAIE_VERSION="([^"]+)"', tools, re.M).group(1) == local_images.GAIE_VERSION
    assert (
        re.search(r'^KUBERNETES_VERSION="([^"]+)"', tools, re.M).group(1) == local_images.KUBERNETES_VERSION
    )
