"""fluxd's flags: Flux v1's names and forms, clear errors, nothing silently changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxd import flag_table
from fluxd.errors import SettingsError
from fluxd.flags import FLAGS, build_parser, parse, split_address
from fluxd.settings import Settings, SyncState


def test_the_seeds_deployment_args_parse_to_what_they_say() -> None:
    settings, warnings = parse(
        [
            "--git-url=git@github.com:YOUR-USER/YOUR-REPO",
            "--git-branch=master",
            "--git-path=namespaces,workloads",
            "--git-label=flux-sync",
            "--git-user=Flux automation",
            "--git-email=flux@example.com",
            "--listen-metrics=:3031",
        ],
        env={},
    )
    assert settings.git.url == "git@github.com:YOUR-USER/YOUR-REPO"
    assert settings.git.paths == ("namespaces", "workloads")
    assert (settings.git.sync_tag, settings.git.notes_ref) == ("flux-sync", "flux-sync")
    assert settings.git.user == "Flux automation"
    assert settings.api.listen_metrics == ":3031"
    assert warnings == []


def test_git_path_may_be_repeated_and_comma_separated() -> None:
    settings, _ = parse(["--git-path=a,b", "--git-path", "c"], env={})
    assert settings.git.paths == ("a", "b", "c")


def test_an_absolute_git_path_is_refused_with_the_fix() -> None:
    with pytest.raises(SettingsError) as err:
        parse(["--git-path=/workloads"], env={})
    assert "relative" in str(err.value)
    assert "--git-path=workloads" in err.value.help


@pytest.mark.parametrize(
    ("flag", "seconds"),
    [
        ("--git-poll-interval=5m", 300.0),
        ("--sync-interval=1m30s", 90.0),
        ("--git-timeout=250ms", 0.25),
    ],
)
def test_durations_take_gos_syntax(flag: str, seconds: float) -> None:
    settings, _ = parse([flag], env={})
    values = {settings.git.poll_interval, settings.sync.interval, settings.git.timeout}
    assert seconds in values


@pytest.mark.parametrize("bad", ["--sync-interval=5", "--git-timeout=soon", "--sync-interval=-1m"])
def test_a_malformed_duration_names_the_flag(bad: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse([bad], env={})
    assert bad.split("=")[0] in str(err.value)


def test_an_unknown_flag_is_an_error() -> None:
    with pytest.raises(SettingsError, match="unrecognized arguments: --git-urll=x"):
        parse(["--git-urll=x"], env={})


def test_booleans_take_gos_forms() -> None:
    assert parse(["--git-readonly"], env={})[0].git.readonly
    assert parse(["--git-readonly=true"], env={})[0].git.readonly
    assert not parse(["--git-readonly=false"], env={})[0].git.readonly
    with pytest.raises(SettingsError):
        parse(["--git-readonly=maybe"], env={})


def test_read_only_forces_the_marker_into_the_secret() -> None:
    settings, _ = parse(["--git-readonly"], env={})
    assert settings.sync.state is SyncState.SECRET


def test_dry_garbage_collection_implies_garbage_collection() -> None:
    sync = parse(["--sync-garbage-collection-dry"], env={})[0].sync
    assert sync.garbage_collection and sync.garbage_collection_dry


def test_environment_variables_set_flags_and_the_command_line_wins() -> None:
    env = {"FLUXD_GIT_URL": "ssh://a/b", "FLUXD_GIT_BRANCH": "main", "GIT_AUTHUSER": "u"}
    settings, _ = parse(["--git-branch=prod"], env=env)
    assert settings.git.url == "ssh://a/b"
    assert settings.git.branch == "prod"
    assert settings.git.auth_user == "u"


def test_flux_v1_flags_without_meaning_here_are_accepted_with_a_warning() -> None:
    settings, warnings = parse(["--memcached-service=", "--registry-trace=true"], env={})
    assert warnings == [
        "flag --memcached-service is accepted for compatibility and ignored",
        "flag --registry-trace is accepted for compatibility and ignored",
    ]
    assert settings.git.url == ""


def test_flux_v1_registry_flags_set_the_scanning() -> None:
    settings, warnings = parse(
        [
            "--registry-rps=200",
            "--registry-burst=20",
            "--registry-poll-interval=2m",
            "--registry-exclude-image=quay.io/*,k8s.gcr.io/*",
            "--registry-insecure-host=127.0.0.1:5000",
            "--docker-config=/etc/docker/config.json",
        ],
        env={},
    )
    registry = settings.registry
    assert warnings == []
    assert (registry.rps, registry.burst, registry.automation_interval) == (200, 20, 120)
    assert registry.exclude_images == ("quay.io/*", "k8s.gcr.io/*")
    assert registry.insecure_hosts == ("127.0.0.1:5000",)
    assert registry.docker_config == Path("/etc/docker/config.json")


@pytest.mark.parametrize("flag", ["--manifest-generation", "--sops=true", "--connect=wss://x"])
def test_flux_v1_features_this_daemon_lacks_stop_it_at_start(flag: str) -> None:
    with pytest.raises(SettingsError, match="not supported"):
        parse([flag], env={})


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    settings, _ = parse([f"--api-token-file={token}"], env={})
    assert settings.api.token == "s3cret"
    with pytest.raises(SettingsError, match="cannot read"):
        parse([f"--webhook-secret-file={tmp_path / 'missing'}"], env={})


@pytest.mark.parametrize(
    ("address", "expected"),
    [(":3030", ("0.0.0.0", 3030)), ("127.0.0.1:8080", ("127.0.0.1", 8080))],
)
def test_listen_addresses(address: str, expected: tuple[str, int]) -> None:
    assert split_address(address) == expected


def test_a_bad_listen_address_is_refused_with_an_example() -> None:
    with pytest.raises(SettingsError) as err:
        parse(["--listen=3030"], env={})
    assert "--listen=:3030" in err.value.help


def test_manifest_limits_default_to_what_the_reference_says() -> None:
    settings, _ = parse([], env={})
    limits = settings.manifests
    assert (limits.max_file_size, limits.max_documents) == (4 * 1024 * 1024, 1000)
    assert (limits.max_nodes, limits.max_depth) == (500_000, 100)


def test_manifest_limits_come_from_flags_or_the_environment() -> None:
    settings, _ = parse(
        ["--manifest-max-file-size=512Ki", "--manifest-max-depth", "40"],
        env={"FLUXD_MANIFEST_MAX_NODES": "2000", "FLUXD_MANIFEST_MAX_FILE_SIZE": "9Mi"},
    )
    limits = settings.manifests
    assert (limits.max_file_size, limits.max_nodes, limits.max_depth) == (512 * 1024, 2000, 40)
    assert limits.max_documents == 1000


@pytest.mark.parametrize(
    ("flag", "fragment"),
    [
        ("--manifest-max-file-size=4MB", "invalid size '4MB'"),
        ("--manifest-max-file-size=0", "at least 1 byte"),
        ("--manifest-max-documents=0", "at least 1"),
        ("--manifest-max-nodes=many", "expected a whole number"),
        ("--manifest-max-depth=500", "from 1 to 200"),
    ],
)
def test_a_malformed_manifest_limit_stops_fluxd_naming_the_flag(flag: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as refused:
        parse([flag], env={})
    assert flag.split("=")[0] in str(refused.value)
    assert fragment in str(refused.value)


def test_the_help_shows_the_manifest_limits_defaults() -> None:
    text = " ".join(build_parser().format_help().split())
    assert "(default 4Mi)" in text
    assert "--manifest-max-nodes" in text
    assert "(default 500000)" in text


def test_every_flags_help_shows_the_default_the_settings_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Outside a pod: the namespace falls back to the settings' own default.
    monkeypatch.setattr(flag_table, "POD_NAMESPACE_FILE", tmp_path / "absent")
    settings, _ = parse([], env={})
    helps = {
        opt: str(action.help).replace("%%", "%")
        for action in build_parser()._actions
        for opt in action.option_strings
    }
    shown = 0
    for flag in FLAGS:
        if len(flag.fills) != 1:
            continue
        value: object = settings
        for part in flag.fills[0].split("."):
            value = getattr(value, part)
        if value is None or value in ("", ()):
            assert "(default " not in helps[flag.name], flag.name
            continue
        expected = f"(default {flag.default_text.format(flag.show(value))})"
        assert helps[flag.name].endswith(expected), (flag.name, helps[flag.name], expected)
        shown += 1
    assert shown >= 25


def test_defaults_read_in_help_as_they_are_typed() -> None:
    text = " ".join(build_parser().format_help().split())
    for fragment in (
        "fetch period (default 5m)",
        "limit of one sync (default 1m)",
        "turns the share rule off (default 50%)",
        "fluxd's own namespace (default the pod's, else flux)",
        "take over fields other managers own (default true)",
        "client side; 0 = no limit (default 500)",
    ):
        assert fragment in text


def test_every_switch_and_text_flag_is_read_from_its_fluxd_variable() -> None:
    checked = 0
    for flag in FLAGS:
        if len(flag.fills) != 1 or flag.read or flag.convert or flag.choices or flag.fallback:
            continue
        if flag.kind not in ("bool", "value") or flag.name.startswith("--listen"):
            continue
        # A boolean is set to the opposite of its default, so that reading it shows.
        want: object = not flag.default(Settings()) if flag.kind == "bool" else "from-env"
        value: object = parse([], env={flag.env: str(want).lower()})[0]
        for part in flag.fills[0].split("."):
            value = getattr(value, part)
        assert value == want, flag.env
        checked += 1
    assert checked >= 10


def test_leader_pod_labels_are_key_value_pairs() -> None:
    settings, _ = parse(
        ["--leader-pod-labels=app=flux,fluxd.io/role=leader", "--leader-pod-labels=x="], env={}
    )
    assert settings.leader.pod_labels == (("app", "flux"), ("fluxd.io/role", "leader"), ("x", ""))


@pytest.mark.parametrize("bad", ["app", "=flux", "app=fl ux", "a/b/c=d"])
def test_a_malformed_leader_pod_label_names_the_flag(bad: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse([f"--leader-pod-labels={bad}"], env={})
    assert "--leader-pod-labels" in str(caught.value)
    assert caught.value.help
