"""scripts/migrate_score_cache.py: carries 0.1 scores to the installed version, recomputing
az_complexity (live layers only) and keeping rows already present under the new version."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hwnas import get_space
from hwnas.counting import count_flops
from hwnas.eval import CacheKey, CachedScore, ScoreCache, version_tag

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "migrate_score_cache.py"
SPACE = get_space("nb201")
# node 1 = conv3x3(node 0) reaches the output only through `none` edges: a dead convolution
DEAD = SPACE.index(SPACE.from_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"))
OTHER = SPACE.index(SPACE.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"))


def test_migration_recomputes_complexity_and_copies_the_rest(tmp_path):
    path = tmp_path / "cache.sqlite"
    old, new = CacheKey("nb201", "cifar10", 0, 64, "0.1"), CacheKey("nb201", "cifar10", 0, 64, version_tag())
    probe_old = CacheKey("nb201", "cifar10", 0, 64, "0.1+inputs:abc")
    with ScoreCache(path) as cache:
        for arch in (DEAD, OTHER):
            cache.store(old, arch, {"az_complexity": CachedScore(1.0, 5.0, "c", "az_nas"),
                                    "az_expressivity": CachedScore(2.5, 5.0, "c", "az_nas")})
        cache.store(probe_old, DEAD, {"synflow": CachedScore(7.0, 3.0, "d", "synflow")})
        cache.store(new, OTHER, {"az_expressivity": CachedScore(9.0, 1.0, "e", "az_nas")})  # already migrated
    done = subprocess.run([sys.executable, str(SCRIPT), str(path), "--from", "0.1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "5 scores 0.1 -> " in done.stdout and "2 recomputed" in done.stdout

    with ScoreCache(path) as cache:
        got = cache.lookup(new, [DEAD, OTHER], ["az_complexity", "az_expressivity"])
        probe = cache.lookup(CacheKey("nb201", "cifar10", 0, 64, version_tag() + "+inputs:abc"), [DEAD], ["synflow"])
    net = SPACE.build(SPACE.arch_at(DEAD), "cifar10")
    live = count_flops(net, (3, 32, 32), "conv_linear", live_only=True)
    assert live < count_flops(net, (3, 32, 32), "conv_linear")
    assert got[(DEAD, "az_complexity")].value == live
    assert got[(DEAD, "az_expressivity")].value == 2.5 and got[(DEAD, "az_expressivity")].ms == 5.0
    assert got[(OTHER, "az_expressivity")].value == 9.0  # rows under the new version are kept
    assert probe[(DEAD, "synflow")].value == 7.0


def test_migration_refuses_a_version_that_is_not_older(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "c.sqlite"), "--from", version_tag()],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "is not older" in done.stderr


def test_migration_names_a_missing_cache(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "absent.sqlite"), "--from", "0.1"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "no such score cache" in done.stderr and "Traceback" not in done.stderr
