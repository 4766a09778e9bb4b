"""Unit tests of the one snapshot normaliser."""

from __future__ import annotations

from tests.snapshot import normalise

HASH = "02b51ab524e7bcf8f477de3e71e5f9a72e448301b26ba62e9e75a14f9c55a093"


def test_replaces_asset_hashes_wherever_they_appear() -> None:
    template = {
        "Resources": {
            "Fn": {
                "Properties": {"Code": {"S3Key": f"{HASH}.zip"}},
                "Metadata": {"aws:asset:path": f"asset.{HASH}"},
            },
            "Task": {"Properties": {"Image": {"Fn::Sub": f"repo:{HASH}"}, "List": [HASH]}},
        }
    }
    result = normalise(template)
    assert result["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] == "<asset-hash>.zip"
    assert result["Resources"]["Fn"]["Metadata"]["aws:asset:path"] == "asset.<asset-hash>"
    assert result["Resources"]["Task"]["Properties"]["Image"]["Fn::Sub"] == "repo:<asset-hash>"
    assert result["Resources"]["Task"]["Properties"]["List"] == ["<asset-hash>"]


def test_drops_bootstrap_version_noise_only() -> None:
    template = {
        "Parameters": {
            "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"},
            "Stage": {"Type": "String"},
        },
        "Rules": {"CheckBootstrapVersion": {"Assertions": []}},
        "Resources": {},
    }
    assert normalise(template) == {"Parameters": {"Stage": {"Type": "String"}}, "Resources": {}}


def test_keeps_everything_else_including_short_hex_and_digests() -> None:
    digest = "sha256:" + "a" * 63  # not 64 hex characters: not an asset hash
    template = {
        "Resources": {"VpcA1B2C3D4": {"Properties": {"Name": "deadbeef", "Image": digest, "N": 3}}}
    }
    assert normalise(template) == template


def test_does_not_modify_its_input() -> None:
    template = {"Parameters": {"BootstrapVersion": {}}, "Resources": {"X": {"Key": HASH}}}
    normalise(template)
    assert template == {"Parameters": {"BootstrapVersion": {}}, "Resources": {"X": {"Key": HASH}}}
