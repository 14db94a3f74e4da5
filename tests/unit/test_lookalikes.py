"""Near-duplicate frames as split groups: signatures, grouping, the signature cache and where the groups are used."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_core.data import lookalikes as fg
from unet_core.data.layouts import detect_layout
from unet_core.data.lookalikes import (
    SIGNATURE_LEN,
    SIMILARITY,
    cache_path,
    image_signature,
    load_signatures,
    lookalike_groups,
    signature_of,
    similarity_groups,
)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_similarity_groups_join_transitively_and_name_groups_by_their_first_stem() -> None:
    rng = np.random.default_rng(0)
    a, b, c = (_unit(rng.normal(size=SIGNATURE_LEN)) for _ in range(3))
    a2 = _unit(a + 0.25 * _unit(b))  # close to a
    a3 = _unit(a2 + 0.25 * _unit(c))  # close to a2, further from a: joins through a2
    assert float(a @ a2) >= SIMILARITY and float(a2 @ a3) >= SIMILARITY
    stems = ["f3", "f1", "f9", "f2", "f5"]
    sig = np.stack([a3, a, b, a2, c])
    groups = similarity_groups(stems, sig)
    assert groups == {"f3": "f1", "f1": "f1", "f2": "f1", "f9": "f9", "f5": "f5"}
    assert similarity_groups(stems, sig, chunk=1) == groups  # chunking changes nothing
    assert similarity_groups(stems[::-1], sig[::-1]) == groups  # nor the input order
    with pytest.raises(ValueError, match="signatures"):
        similarity_groups(stems, sig[:3])


def test_signature_sees_the_same_scene_through_noise_and_tells_scenes_apart(carla_dir: Path) -> None:
    layout = detect_layout(carla_dir)
    pairs, _ = layout.pairs()
    img = cv2.cvtColor(cv2.imread(str(pairs[0].image)), cv2.COLOR_BGR2RGB)
    noisy = np.clip(img.astype(np.int16) + np.random.default_rng(1).integers(-12, 13, img.shape), 0, 255)
    brighter = np.clip(img.astype(np.int16) + 20, 0, 255)
    s0 = image_signature(pairs[0].image)
    assert s0.shape == (SIGNATURE_LEN,) and abs(float(np.linalg.norm(s0)) - 1) < 1e-4
    assert float(s0 @ signature_of(noisy.astype(np.uint8))) >= SIMILARITY
    assert float(s0 @ signature_of(brighter.astype(np.uint8))) >= SIMILARITY  # zero-mean: brightness does not matter
    others = [float(s0 @ image_signature(p.image)) for p in pairs[1:]]
    assert max(others) < SIMILARITY  # the generator's scenes are all different
    assert not signature_of(np.full((40, 60, 3), 128, np.uint8)).any()  # a flat image matches nothing


def _copy_with_twin(src: Path, dest: Path) -> tuple[Path, list[str]]:
    """A copy of a CARLA folder where frame 900 is a re-encoded near-copy of the first frame."""
    shutil.copytree(src, dest)
    layout = detect_layout(dest)
    pairs, _ = layout.pairs()
    first = pairs[0]
    img = cv2.imread(str(first.image), cv2.IMREAD_UNCHANGED)
    img[:4, :4] = 0  # not byte-identical
    cv2.imwrite(str(layout.image_dir / "000900.png"), img)
    shutil.copyfile(first.mask, layout.mask_dir / "000900.png")
    return dest, [first.stem, "000900"]


def test_carla_twins_share_a_group_and_carvana_keeps_its_cars(carla_dir: Path, carvana_dir: Path, tmp_path: Path) -> None:
    folder, twins = _copy_with_twin(carla_dir, tmp_path / "carla")
    layout = detect_layout(folder)
    pairs, _ = layout.pairs()
    groups = lookalike_groups({p.stem: p.image for p in pairs})  # CARLA names say nothing about the scene
    assert groups.split == groups.lookalike
    assert groups.lookalike[twins[0]] == groups.lookalike[twins[1]] == twins[0]
    assert len(set(groups.lookalike.values())) == len(pairs) - 1
    car = detect_layout(carvana_dir)
    cpairs, _ = car.pairs()
    cgroups = lookalike_groups({p.stem: p.image for p in cpairs}, car.group_of)
    assert cgroups.split == {p.stem: p.group for p in cpairs}  # splits follow the car id, never look-alikes
    for stem, group in cgroups.lookalike.items():  # look-alikes only within a car
        assert cgroups.split[stem] == cgroups.split[group]


def test_signature_cache_decodes_only_new_or_changed_images(carla_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "carla"
    shutil.copytree(carla_dir, folder)
    layout = detect_layout(folder)
    pairs, _ = layout.pairs()
    paths = {p.stem: p.image for p in pairs}
    cache = tmp_path / "store" / "frame_signatures.npz"
    cache.parent.mkdir()
    decoded: list[str] = []
    real = fg.image_signature
    monkeypatch.setattr(fg, "image_signature", lambda p: decoded.append(Path(p).stem) or real(p))
    first = load_signatures(paths, cache)
    assert sorted(decoded) == sorted(paths) and cache.is_file()
    decoded.clear()
    again = load_signatures(paths, cache)
    assert decoded == [] and np.allclose(first, again, atol=1e-3)
    changed = pairs[1].image
    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a changed file is signed again
    load_signatures(paths, cache)
    assert decoded == [pairs[1].stem]
    cache.write_bytes(b"not an npz")  # a damaged cache is rebuilt, not fatal
    decoded.clear()
    assert np.allclose(load_signatures(paths, cache), first, atol=1e-3) and len(decoded) == len(paths)


def test_an_unreadable_image_gets_no_group_partner(carla_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "carla"
    shutil.copytree(carla_dir, folder)
    layout = detect_layout(folder)
    pairs, _ = layout.pairs()
    pairs[0].image.write_bytes(b"garbage")
    (layout.image_dir / "000901.png").write_bytes(b"garbage too")
    shutil.copyfile(pairs[1].mask, layout.mask_dir / "000901.png")
    paths = {p.stem: p.image for p in detect_layout(folder).pairs()[0]}
    sig = load_signatures(paths, cache_path(tmp_path))
    assert not sig[list(paths).index(pairs[0].stem)].any()
    groups = similarity_groups(list(paths), sig)
    assert groups[pairs[0].stem] == pairs[0].stem and groups["000901"] == "000901"


def test_validation_split_and_queue_keep_twins_together(carla_dir: Path, tmp_path: Path) -> None:
    from unet_core.loop.corrections import correction_queue, image_groups, validation_stems
    from unet_core.loop.records import ImageRecord
    from unet_core.store.project import ProjectStore

    folder, twins = _copy_with_twin(carla_dir, tmp_path / "carla")
    layout = detect_layout(folder)
    pairs, _ = layout.pairs()
    records = [ImageRecord(p.stem, p.image, p.mask) for p in pairs]
    store = ProjectStore.for_dataset(folder)
    groups = image_groups(layout, records, store)
    assert (store.root / "frame_signatures.npz").is_file()
    val = validation_stems(layout, records, groups)
    # 7 images, a fifth to validation: a single frame fits the share, the pair of twins never does
    assert len(val) == 1 and not val & set(twins)
    scores = {r.stem: 0.1 for r in records} | {twins[0]: 0.9, twins[1]: 0.8}
    plain = correction_queue(layout, records, (), scores, "uncertainty")
    assert plain.index(twins[1]) <= 2  # without groups the twin comes straight after
    queue = correction_queue(layout, records, (), scores, "uncertainty", groups=groups)
    assert queue[0] == twins[0] and queue.index(twins[1]) >= len(queue) - 2  # with groups it waits
    assert sorted(queue) == sorted(plain)
    # once the first twin is corrected but not yet learnt, its group goes to the back
    later = correction_queue(layout, records, {twins[0]}, scores, "uncertainty", groups=groups, unlearnt={twins[0]})
    assert later.index(twins[1]) >= len(later) - 2
    learnt = correction_queue(layout, records, {twins[0]}, scores, "uncertainty", groups=groups)
    assert learnt[0] == twins[1]  # after a fine-tune its score counts again
    # the default order is the random one until the model's uncertainty is trusted, then this one
    assert correction_queue(layout, records, (), scores, groups=groups) == \
        correction_queue(layout, records, (), scores, "random", groups=groups)
    assert correction_queue(layout, records, (), scores, groups=groups, calibrated=True) == queue


def test_stopping_early_keeps_what_was_signed(carla_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carla_dir)
    paths = {p.stem: p.image for p in layout.pairs()[0]}
    cache = tmp_path / "sig.npz"

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise InterruptedError("closed")

    with pytest.raises(InterruptedError):
        load_signatures(paths, cache, stop_after_two)
    with np.load(cache) as data:
        assert data["stems"].tolist() == list(paths)[:2]
    seen: list[int] = []
    load_signatures(paths, cache, lambda done, total: seen.append(done))
    assert seen == list(range(3, len(paths) + 1))  # the first two came from the cache


def test_a_read_only_cache_is_read_but_never_written(tmp_path: Path) -> None:
    from unet_core.data.lookalikes import load_signatures

    rng = np.random.default_rng(0)
    paths = {}
    for i in range(2):
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
        paths[str(i)] = p
    cache = tmp_path / "sig.npz"
    load_signatures(paths, cache, write_cache=False)
    assert not cache.exists()
    first = load_signatures(paths, cache)
    stamp = cache.stat().st_mtime_ns
    paths["2"] = paths["0"]
    again = load_signatures(paths, cache, write_cache=False)
    assert cache.stat().st_mtime_ns == stamp and np.allclose(again[:2], first, atol=1e-2)
