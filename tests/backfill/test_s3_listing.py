"""S3 sources on moto's server: what is read, and that filters prune the listing itself."""

from __future__ import annotations

import socket

import pytest

from tests.backfill.trails import DEV, ORG, PROD, day, digest, put_bucket, standard_trail

BUCKET = "org-cloudtrail"


def test_whole_bucket_reads_every_log_file_and_never_lists_digests(s3, listings, backfill):
    files = standard_trail()
    key, body = digest(PROD, "eu-west-1", day(2))
    put_bucket(s3, BUCKET, files, extra={key: body})

    run = backfill(f"s3://{BUCKET}", "--summary-json", "/dev/null")

    assert run.exit_code == 0, run.stderr
    assert len(run.alerts) == len(files)  # one CreateUser per file
    assert {a["source"]["object"] for a in run.alerts} == {f"s3://{BUCKET}/{f.key}" for f in files}
    assert "40 processed, 0 failed" in run.stderr
    assert not any("Digest" in prefix for prefix, _, _ in listings.calls)


def test_account_region_and_dates_list_only_their_prefixes(s3, listings, backfill):
    put_bucket(s3, BUCKET, standard_trail())

    run = backfill(
        f"s3://{BUCKET}",
        "--account",
        DEV,
        "--region",
        "us-east-1",
        "--start",
        "2026-11-02",
        "--end",
        "2026-11-03",
    )

    assert run.exit_code == 0, run.stderr
    assert sorted({a["eventTime"][:10] for a in run.alerts}) == ["2026-11-02", "2026-11-03"]
    assert {a["account"] for a in run.alerts} == {DEV}
    assert len(run.alerts) == 4  # two files a day, one alert each
    region = f"AWSLogs/{ORG}/{DEV}/CloudTrail/us-east-1/"
    assert listings.calls == [
        ("", "/", None),  # is there an AWSLogs/ folder?
        ("AWSLogs/", "/", None),  # organization ids and accounts
        (region, None, region + "2026/11/02/"),  # one range listing from the first day
    ]


def test_without_filters_accounts_and_regions_are_discovered_by_delimiter(s3, listings, backfill):
    put_bucket(s3, BUCKET, standard_trail())

    run = backfill(f"s3://{BUCKET}/AWSLogs/", "--start", "2026-11-05")

    assert run.exit_code == 0, run.stderr
    assert {a["eventTime"][:10] for a in run.alerts} == {"2026-11-05"}
    delimited = [prefix for prefix, delimiter, _ in listings.calls if delimiter == "/"]
    assert delimited == [
        "AWSLogs/",
        f"AWSLogs/{PROD}/CloudTrail/",
        f"AWSLogs/{ORG}/",
        f"AWSLogs/{ORG}/{DEV}/CloudTrail/",
    ]
    ranges = [(prefix, start) for prefix, delimiter, start in listings.calls if delimiter is None]
    assert len(ranges) == 4  # one per account and region, each starting at the first day
    assert all(start == prefix + "2026/11/05/" for prefix, start in ranges)


def test_events_outside_the_exact_window_are_dropped_one_by_one(s3, listings, backfill):
    put_bucket(s3, BUCKET, standard_trail())

    run = backfill(
        f"s3://{BUCKET}", "--account", PROD, "--region", "eu-west-1", "--start", "2026-11-03T12:00"
    )

    # Day 3's 09:00 file is never opened; its 15:00 file (events at 14:55) counts.
    assert {a["eventTime"] for a in run.alerts} == {
        f"2026-11-0{n}T{h}:55:00Z" for n in (3, 4, 5) for h in ("08", "14")
    } - {"2026-11-03T08:55:00Z"}


def test_a_prefix_below_the_region_is_respected(s3, listings, backfill):
    put_bucket(s3, BUCKET, standard_trail())

    run = backfill(f"s3://{BUCKET}/AWSLogs/{PROD}/CloudTrail/us-east-1/2026/11/04/")

    assert {a["eventTime"][:10] for a in run.alerts} == {"2026-11-04"}
    assert listings.calls == [(f"AWSLogs/{PROD}/CloudTrail/us-east-1/2026/11/04/", None, None)]


def test_a_missing_bucket_is_named_and_fails_the_run(s3, listings, backfill):
    run = backfill("s3://no-such-bucket")

    assert run.exit_code == 1
    assert "s3://no-such-bucket/: listing failed: NoSuchBucket" in run.stderr


def test_a_prefix_in_the_wrong_case_is_warned_about_and_reads_nothing(s3, listings, backfill):
    put_bucket(s3, BUCKET, standard_trail())

    run = backfill(f"s3://{BUCKET}/awslogs/{PROD}/cloudtrail/")

    assert run.exit_code == 3
    assert (
        f"warning: s3://{BUCKET}/awslogs/{PROD}/cloudtrail/: S3 keys are case-sensitive and CloudTrail "
        f"writes AWSLogs/ and CloudTrail/; did you mean s3://{BUCKET}/AWSLogs/{PROD}/CloudTrail/?"
    ) in run.stderr
    assert (
        f"nothing was read from s3://{BUCKET}/awslogs/{PROD}/cloudtrail/: found no file at all" in run.stderr
    )


@pytest.fixture
def silent_endpoint(monkeypatch):
    """An S3 endpoint that accepts connections (the kernel does, from the backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        yield url


def test_an_endpoint_that_never_answers_fails_in_bounded_time_naming_what_it_waited_for(
    silent_endpoint, backfill_process
):
    run = backfill_process(f"s3://{BUCKET}/AWSLogs/", "--s3-timeout", "0.5", timeout=60)

    assert run.returncode == 1, run.stderr
    assert f"backfill: listing s3://{BUCKET}/AWSLogs/: 0 objects so far" in run.stderr  # said at once
    assert (
        f"could not read s3://{BUCKET}/AWSLogs/: listing failed: no answer from S3 within 0.5 s, "
        f'3 attempts (ReadTimeoutError: Read timeout on endpoint URL: "{silent_endpoint}/{BUCKET}?'
    ) in run.stderr


LISTING = (
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
    "<IsTruncated>false</IsTruncated><Contents><Key>{key}</Key><Size>100</Size></Contents></ListBucketResult>"
)


@pytest.fixture
def stalling_downloads(monkeypatch):
    """An S3 endpoint that lists one log file, then never answers the GET of it."""
    import http.server
    import threading

    release = threading.Event()
    key = (
        f"AWSLogs/{PROD}/CloudTrail/eu-west-1/2026/11/01/{PROD}_CloudTrail_eu-west-1_20261101T1200Z_a.json.gz"
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if "list-type=2" not in self.path:
                release.wait(30)  # the download: no answer until the test is over
                return
            body = LISTING.format(bucket=BUCKET, prefix=key[:20], key=key).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield key
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_download_that_never_answers_fails_in_bounded_time_naming_the_object(
    stalling_downloads, backfill_process
):
    key = stalling_downloads

    run = backfill_process(f"s3://{BUCKET}/{key[:20]}", "--s3-timeout", "0.5", timeout=60)

    assert run.returncode == 1, run.stderr
    assert (
        f"could not read s3://{BUCKET}/{key}: could not be read: ReadTimeoutError: Read timeout" in run.stderr
    )
    assert "1 failed" in run.stderr
