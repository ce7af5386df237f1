"""Templates remember which weights made them; the service never compares across weights."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.context import ServiceContext
from app.core.config import ConfigurationError
from app.core.observability import Metrics
from app.main import create_app
from app.services.reembed import reembed
from models.backbones import get_backbone
from models.embedder import FaceEmbedder
from models.identification import SHIPPED_RETRY_BANDS
from tests.support.helpers import fine_tuned_weights, post_file
from tests.support.settings import ADMIN_KEY, make_settings

ADMIN = {"X-API-Key": ADMIN_KEY}
DLIB_VERSION = "dlib_face_recognition_resnet_model_v1"


@pytest.mark.slow
def test_templates_of_other_weights_are_not_searched_until_reembedded(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    obama = faces_dir / "people" / "barack_obama"
    settings = make_settings(tmp_path, keep_photos=True)
    with TestClient(create_app(settings, embedder), headers=ADMIN) as client:
        ids = {}
        for external_id, photo in (
            ("O", obama / "obama.jpg"),
            ("K", faces_dir / "people" / "kit_harington" / "kit1.jpg"),
        ):
            ids[external_id] = client.post(
                "/api/v1/students", json={"external_id": external_id, "name": external_id}
            ).json()["id"]
            assert (
                post_file(client, f"/api/v1/students/{ids[external_id]}/photo", photo).status_code
                == 200
            )

    database = tmp_path / "rollcall.db"
    with sqlite3.connect(database) as connection:
        versions = {v for (v,) in connection.execute("SELECT weights_version FROM face_templates")}
        assert versions == {embedder.version} == {f"{DLIB_VERSION}+flip"}
        # As if Obama had been enrolled under other (e.g. fine-tuned) weights; Kit's photo is
        # not kept, as with ROLLCALL_KEEP_PHOTOS=false.
        connection.execute(
            "UPDATE face_templates SET weights_version = 'other-weights' WHERE student_id = ?",
            (ids["O"],),
        )
        connection.execute(
            "UPDATE face_templates SET weights_version = 'other-weights', photo = NULL "
            "WHERE student_id = ?",
            (ids["K"],),
        )

    # Kit could only come back by re-enrolling: the service refuses to strand him silently.
    stranding = pytest.raises(ConfigurationError, match=r"1 student\(s\) .*\(K\).*--force")
    with stranding, TestClient(create_app(settings, embedder)):
        pass
    settings = make_settings(tmp_path, keep_photos=True, allow_stranded_students=True)
    with TestClient(create_app(settings, embedder), headers=ADMIN) as client:
        health = client.get("/health").json()
        assert health["stale_templates"] == 2 and health["gallery_templates"] == 0
        [face] = post_file(client, "/api/v1/checkins", obama / "obama2.jpg").json()["faces"]
        assert face["decision"] == "unknown"
        refused = post_file(client, f"/api/v1/students/{ids['O']}/verify", obama / "obama2.jpg")
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_enrolled"

    context = ServiceContext.start(settings, Metrics(), embedder)
    summary = reembed(context)
    assert summary.reembedded == ["O"] and summary.need_reenrollment == ["K"]
    assert len(context.gallery) == 1 and context.gallery_store.stale_templates == 1
    context.close()

    with TestClient(create_app(settings, embedder), headers=ADMIN) as client:
        [face] = post_file(client, "/api/v1/checkins", obama / "obama2.jpg").json()["faces"]
        assert face["decision"] == "present" and face["student"]["external_id"] == "O"


@pytest.mark.slow
def test_a_student_with_a_template_of_the_served_weights_is_not_stranded(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    """One old template without a kept photo made the service refuse to start,
    though the student also held a template of the served weights (and is recognised)."""
    kit = faces_dir / "people" / "kit_harington"
    settings = make_settings(tmp_path)  # photos not kept
    with TestClient(create_app(settings, embedder), headers=ADMIN) as client:
        student = client.post("/api/v1/students", json={"external_id": "K", "name": "K"}).json()
        for photo in ("kit1.jpg", "kit3.jpg"):
            added = post_file(client, f"/api/v1/students/{student['id']}/photo", kit / photo)
            assert added.status_code == 200, added.text
    with sqlite3.connect(tmp_path / "rollcall.db") as connection:
        connection.execute(
            "UPDATE face_templates SET weights_version = 'other-weights' WHERE id = "
            "(SELECT MIN(id) FROM face_templates)"
        )
    with TestClient(create_app(settings, embedder), headers=ADMIN) as client:  # starts
        assert client.get("/health").json()["stale_templates"] == 1
        [face] = post_file(client, "/api/v1/checkins", kit / "kit2.jpg").json()["faces"]
        assert face["decision"] == "present" and face["student"]["external_id"] == "K"


@pytest.mark.slow
def test_service_serves_fine_tuned_weights_from_the_setting(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    weights = fine_tuned_weights(tmp_path / "backbone.pt")

    settings = make_settings(tmp_path, weights_path=weights)
    with TestClient(create_app(settings), headers=ADMIN) as client:  # loads its own model
        health = client.get("/health").json()
        assert health["weights_version"].startswith("dlib_face_recognition_resnet_model_v1+")
        student = client.post("/api/v1/students", json={"external_id": "R", "name": "R"}).json()
        rose = faces_dir / "people" / "rose_leslie"
        enrolled = post_file(client, f"/api/v1/students/{student['id']}/photo", rose / "rose1.jpg")
        assert enrolled.status_code == 200, enrolled.text
        [face] = post_file(client, "/api/v1/checkins", rose / "rose2.jpg").json()["faces"]
        assert face["decision"] == "present"

    # The pretrained weights do not search what the fine-tuned ones enrolled; without a kept
    # photo R is stranded, so serving them needs --force (ROLLCALL_ALLOW_STRANDED_STUDENTS).
    stranding = pytest.raises(ConfigurationError, match=r"refusing to serve weights .*\(R\)")
    with stranding, TestClient(create_app(make_settings(tmp_path), embedder)):
        pass
    forced = make_settings(tmp_path, allow_stranded_students=True)
    with TestClient(create_app(forced, embedder), headers=ADMIN) as client:
        assert client.get("/health").json()["stale_templates"] == 1


def test_identical_weight_values_keep_the_pretrained_version(tmp_path: Path) -> None:
    """A file of the pretrained values (what `rollcall train` writes when no epoch beat them)
    is the pretrained version; other values, or mirror averaging, are other versions."""
    import torch

    from models.backbones import get_backbone
    from models.backbones.dlib_resnet import load_dlib_resnet
    from models.embedder import pretrained_digest, weights_digest, weights_version
    from models.training.checkpoints import exportable_state_dict

    spec = get_backbone("dlib-resnet")
    pretrained = load_dlib_resnet()
    saved = tmp_path / "backbone.pt"
    torch.save(exportable_state_dict(pretrained), saved)
    reloaded = spec.load(saved)
    assert weights_digest(reloaded) == weights_digest(pretrained) == pretrained_digest(spec)
    assert weights_version(spec, reloaded, True, False) == spec.version
    assert weights_version(spec, pretrained, False, True) == f"{spec.version}+flip"

    with torch.no_grad():
        next(reloaded.parameters()).view(-1)[0] += 1e-3  # one number changed
    changed = weights_version(spec, reloaded, True, False)
    assert changed == f"{spec.version}+{weights_digest(reloaded)[:12]}"
    assert weights_version(spec, reloaded, True, True) == f"{changed}+flip"


@pytest.mark.slow  # loads a second, plain model
def test_flip_tta_templates_are_not_compared_with_plain_embeddings(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    """Templates enrolled without mirror averaging (ROLLCALL_FLIP_TTA=false, or before it was
    the default) are not searched by a mirroring service: stale until `rollcall reembed`. The
    default (unset) keeps serving them plain rather than hide them."""
    rose = faces_dir / "people" / "rose_leslie"
    plain = make_settings(tmp_path, keep_photos=True, flip_tta=False)
    with TestClient(create_app(plain), headers=ADMIN) as client:  # its own, plain model
        assert client.get("/health").json()["weights_version"] == DLIB_VERSION
        student = client.post("/api/v1/students", json={"external_id": "R", "name": "R"}).json()
        post_file(client, f"/api/v1/students/{student['id']}/photo", rose / "rose1.jpg")
    unset = make_settings(tmp_path, keep_photos=True)
    with TestClient(create_app(unset), headers=ADMIN) as client:
        health = client.get("/health").json()
        assert (health["weights_version"], health["stale_templates"]) == (DLIB_VERSION, 0)
        [face] = post_file(client, "/api/v1/checkins", rose / "rose2.jpg").json()["faces"]
        assert face["decision"] == "present"
    mirrored = make_settings(tmp_path, keep_photos=True, flip_tta=True)
    with TestClient(create_app(mirrored, embedder), headers=ADMIN) as client:
        health = client.get("/health").json()
        assert health["weights_version"] == f"{DLIB_VERSION}+flip"
        assert health["stale_templates"] == 1  # kept photo: re-embeddable, so not refused


@pytest.mark.slow  # loads a second, plain model
def test_an_upgraded_site_without_kept_photos_starts_on_its_plain_templates(
    tmp_path: Path, faces_dir: Path
) -> None:
    """Mirror averaging became the default: a site that kept no photos would be refused at
    start (its students stranded) had the default not stayed off for its gallery."""
    plain = make_settings(tmp_path, flip_tta=False)
    with TestClient(create_app(plain), headers=ADMIN) as client:
        student = client.post("/api/v1/students", json={"external_id": "K", "name": "K"}).json()
        kit = faces_dir / "people" / "kit_harington"
        post_file(client, f"/api/v1/students/{student['id']}/photo", kit / "kit1.jpg")
    context = ServiceContext.start(make_settings(tmp_path), Metrics(), serving=True)
    try:
        assert context.settings.flip_tta is None  # the operator's setting, as given
        assert not context.embedder.mirrored and context.embedder.version == DLIB_VERSION
        assert context.gallery_store.stale_templates == 0
        # the plain embeddings' bands, not the mirrored ones' the default would take
        assert context.recognizer.retry_bands == SHIPPED_RETRY_BANDS
    finally:
        context.close()

    # Templates of another backbone (a site moving from the fusion) say nothing of mirroring.
    fusion = get_backbone("dlib+faceres").version  # names dlib's version inside it
    assert DLIB_VERSION in fusion
    with sqlite3.connect(tmp_path / "rollcall.db") as connection:
        connection.execute("UPDATE face_templates SET weights_version = ?", (fusion,))
    context = ServiceContext.start(make_settings(tmp_path), Metrics())
    try:
        assert context.embedder.mirrored and context.embedder.version == f"{DLIB_VERSION}+flip"
    finally:
        context.close()


@pytest.mark.slow
def test_templates_named_by_the_former_file_digest_are_adopted(
    tmp_path: Path, faces_dir: Path
) -> None:
    """Versions used to be a digest of the weights file's bytes: the same file's templates are
    renamed to its value-derived version at start, not stranded."""
    from models.backbones import get_backbone
    from models.embedder import file_digest_version

    weights = fine_tuned_weights(tmp_path / "backbone.pt")
    settings = make_settings(tmp_path, weights_path=weights, flip_tta=False)  # as it was then
    with TestClient(create_app(settings), headers=ADMIN) as client:
        student = client.post("/api/v1/students", json={"external_id": "R", "name": "R"}).json()
        rose = faces_dir / "people" / "rose_leslie"
        post_file(client, f"/api/v1/students/{student['id']}/photo", rose / "rose1.jpg")
        version = client.get("/health").json()["weights_version"]
    former = file_digest_version(get_backbone("dlib-resnet"), weights)
    assert former != version
    with sqlite3.connect(tmp_path / "rollcall.db") as connection:
        connection.execute("UPDATE face_templates SET weights_version = ?", (former,))

    upgraded = make_settings(tmp_path, weights_path=weights)  # mirroring's default: kept off
    with TestClient(create_app(upgraded), headers=ADMIN) as client:  # not refused: adopted
        assert client.get("/health").json()["stale_templates"] == 0
        [face] = post_file(client, "/api/v1/checkins", rose / "rose2.jpg").json()["faces"]
        assert face["decision"] == "present"
    with sqlite3.connect(tmp_path / "rollcall.db") as connection:
        assert connection.execute("SELECT weights_version FROM face_templates").fetchall() == [
            (version,)
        ]
