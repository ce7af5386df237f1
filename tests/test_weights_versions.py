"""Templates remember which weights made them; the service never compares across weights."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from app.context import ServiceContext
from app.main import create_app
from app.observability import Metrics
from app.services.roster import reembed
from models.embedder import FaceEmbedder
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import post_file

ADMIN = {"X-API-Key": ADMIN_KEY}


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
        assert versions == {embedder.version} == {"dlib_face_recognition_resnet_model_v1"}
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
    assert len(context.gallery) == 1 and context.stale_templates == 1
    context.close()

    with TestClient(create_app(settings, embedder), headers=ADMIN) as client:
        [face] = post_file(client, "/api/v1/checkins", obama / "obama2.jpg").json()["faces"]
        assert face["decision"] == "present" and face["student"]["external_id"] == "O"


def test_service_serves_fine_tuned_weights_from_the_setting(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    import torch

    from models.backbones.dlib_resnet import load_dlib_resnet

    tuned = load_dlib_resnet()
    torch.manual_seed(0)
    with torch.no_grad():  # stands in for `rollcall train`'s output: a state dict of the backbone
        for parameter in tuned.parameters():
            parameter.mul_(1 + 0.01 * torch.randn_like(parameter))
    weights = tmp_path / "backbone.pt"
    torch.save(tuned.state_dict(), weights)

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

    # The pretrained weights do not search what the fine-tuned ones enrolled.
    with TestClient(create_app(make_settings(tmp_path), embedder), headers=ADMIN) as client:
        assert client.get("/health").json()["stale_templates"] == 1
