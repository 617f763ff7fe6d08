"""Tests of the test bed's S3 module (testbed/services/s3.py): bucket reads counted under their
operation names, faults answered as S3's XML errors, GetBucketVersioning in S3's document shape."""

import urllib.request

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def s3(aws):
    return aws("s3", s3={"addressing_style": "path"})


def test_bucket_reads_are_counted_as_their_operations(s3, emulator):
    s3.create_bucket(Bucket="counted-bucket")
    emulator.reset_calls()
    s3.get_bucket_versioning(Bucket="counted-bucket")
    for read in (s3.get_public_access_block, s3.get_bucket_policy, s3.get_bucket_encryption):
        with pytest.raises(ClientError):  # none configured: S3's "not found" errors
            read(Bucket="counted-bucket")
    s3.get_bucket_acl(Bucket="counted-bucket")
    assert emulator.calls() == {"s3.GetBucketVersioning": 1, "s3.GetPublicAccessBlock": 1,
                                "s3.GetBucketPolicy": 1, "s3.GetBucketEncryption": 1, "s3.GET acl": 1}


def test_an_injected_denial_is_s3s_access_denied(s3, emulator):
    s3.create_bucket(Bucket="denied-bucket")
    emulator.set_faults({"s3.GetBucketPolicy": {"error": "denied", "times": 1}})
    with pytest.raises(ClientError) as denied:
        s3.get_bucket_policy(Bucket="denied-bucket")
    assert (denied.value.response["Error"]["Code"], denied.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "AccessDenied", 403)
    assert emulator.faults_fired() == {"s3.GetBucketPolicy": 1}
    with pytest.raises(ClientError) as absent:
        s3.get_bucket_policy(Bucket="denied-bucket")
    assert absent.value.response["Error"]["Code"] == "NoSuchBucketPolicy", "one time only"


def test_get_bucket_versioning_answers_a_versioning_configuration(s3, emulator):
    s3.create_bucket(Bucket="versioned-bucket")
    s3.put_bucket_versioning(Bucket="versioned-bucket", VersioningConfiguration={"Status": "Enabled"})
    body = urllib.request.urlopen(f"{emulator.url}/versioned-bucket?versioning").read().decode()
    assert "<VersioningConfiguration " in body and "<Status>Enabled</Status>" in body, body
    assert "GetBucketVersioningResponse" not in body
    assert s3.get_bucket_versioning(Bucket="versioned-bucket")["Status"] == "Enabled"
