"""Identity: who may create, own and update an executor (tokens, names, secrets)."""

from __future__ import annotations

from pathlib import Path

from support.hubkit import ALICE, BOB, HubApi, make_executor_folder, zip_folder

NAME_TAKEN = "Executor name has been taken by others, please provide another name."


def test_whoami_knows_the_users_given_on_the_command_line(api: HubApi) -> None:
    response = api.whoami(ALICE)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 200
    assert body["status"] == 20000
    assert body["data"]["name"] == "alice"
    assert body["data"]["nickname"] == "alice"


def test_whoami_refuses_an_unknown_or_missing_token_with_40103(api: HubApi) -> None:
    for token in ("not-a-known-token", None):
        response = api.whoami(token)
        assert response.status_code == 401
        body = response.json()
        assert body["status"] == 40103
        assert body["readableMessage"]
        assert body["message"]


def test_anonymous_first_push_returns_name_and_secret_once(api: HubApi, folder: Path) -> None:
    result = api.push(folder)
    payload = result.ok()
    assert payload["name"] == folder.name
    assert len(payload["id"]) == 8
    assert payload["secret"]
    assert "owner" not in payload
    assert result.lines[-1]["message"] == f"Successfully pushed {payload['id']}"
    assert result.lines[-1]["subject"] == "createExecutor"

    update = api.push(folder, update=True, name=folder.name, secret=payload["secret"])
    assert "secret" not in update.ok()


def test_token_push_makes_the_user_the_owner_and_returns_no_secret(
    api: HubApi, folder: Path
) -> None:
    payload = api.push(folder, token=ALICE).ok()
    assert payload["owner"] == {"name": "alice"}
    assert "secret" not in payload


def test_owner_pushing_the_same_name_again_adds_a_commit(api: HubApi, folder: Path) -> None:
    first = api.push(folder, token=ALICE, tags=["v1"]).ok()
    second = api.push(folder, token=ALICE, tags=["v2"]).ok()
    assert second["id"] == first["id"]
    assert second["commit"]["_id"] != first["commit"]["_id"]
    assert second["commit"]["tags"] == ["v2"]


def test_name_owned_by_another_user_is_refused_with_42202(api: HubApi, folder: Path) -> None:
    api.push(folder, token=ALICE).ok()
    result = api.push(folder, token=BOB)
    assert result.complete is None
    assert result.status == 42202
    assert result.readable == NAME_TAKEN


def test_anonymous_push_of_an_existing_name_is_refused_with_42202(
    api: HubApi, folder: Path
) -> None:
    api.push(folder).ok()
    result = api.push(folder)
    assert result.status == 42202
    assert result.readable == NAME_TAKEN
    owned = make_executor_folder(folder.parent / "owned")
    api.push(owned, token=ALICE).ok()
    assert api.push(owned).status == 42202


def test_update_with_name_or_uuid8_and_the_matching_secret_succeeds(
    api: HubApi, folder: Path
) -> None:
    first = api.push(folder).ok()
    by_name = api.push(folder, update=True, name=folder.name, secret=first["secret"], tags=["a"])
    by_uuid = api.push(folder, update=True, name=first["id"], secret=first["secret"], tags=["b"])
    assert by_name.ok()["id"] == first["id"]
    assert by_uuid.ok()["id"] == first["id"]
    assert by_uuid.ok()["commit"]["tags"] == ["b"]


def test_update_with_a_wrong_secret_is_refused_with_a_clear_message(
    api: HubApi, folder: Path
) -> None:
    api.push(folder).ok()
    result = api.push(folder, update=True, name=folder.name, secret="0" * 32, token=ALICE)
    assert result.complete is None
    assert result.status == 40102
    assert result.readable == f"The secret does not match executor {folder.name}."


def test_update_without_secret_needs_the_owners_token(api: HubApi, folder: Path) -> None:
    api.push(folder, token=ALICE).ok()
    assert api.push(folder, update=True, name=folder.name, token=ALICE).complete is not None

    by_bob = api.push(folder, update=True, name=folder.name, token=BOB)
    assert by_bob.status == 40301
    assert "not the owner" in by_bob.readable
    assert folder.name in by_bob.readable

    anonymous = api.push(folder, update=True, name=folder.name)
    assert anonymous.status == 40301
    assert "secret" in anonymous.readable


def test_update_of_an_unknown_executor_is_refused(api: HubApi, folder: Path) -> None:
    result = api.push(folder, update=True, name="NoSuchExecutor", secret="x" * 32)
    assert result.status == 40403
    assert "NoSuchExecutor" in result.readable


def test_push_with_an_unknown_token_is_refused_with_401_40103(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token="forged-token")
    assert result.status_code == 401
    assert result.status == 40103
    assert "token" in result.readable
    assert api.package(folder.name).status_code == 404


def test_invalid_executor_name_is_refused(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    result = api.push(zip_folder(folder), name="bad name!", token=ALICE)
    assert result.status == 40001
    assert "bad name!" in result.readable
    assert api.push(zip_folder(folder), name="", token=ALICE).status == 40001
