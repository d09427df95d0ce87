"""The lab's slurmrestd command line and the pure helpers around it (tests/cluster/restd.py)."""

from __future__ import annotations

from tests.cluster import configs, restd
from tests.cluster.configs import Paths


def test_slurmrestd_options_per_release():
    assert restd.options("22.05") == [
        "-a", "rest_auth/jwt", "-u", "65534", "-s", "openapi/v0.0.38,openapi/dbv0.0.38"]
    for release in ("24.11", "26.05"):  # data_parser plugins load by default; -g exists
        assert restd.options(release) == ["-a", "rest_auth/jwt", "-u", "65534", "-g", "65534"]


def test_the_pair_listens_on_the_hub():
    assert restd.url(0) == "http://10.219.77.1:6820"
    assert restd.url(1) == "http://10.219.77.1:6821"


def test_addresses_as_proc_net_tcp_prints_them():
    assert restd._hex_ip("10.219.77.1") == "014DDB0A"
    assert restd._hex_ip("127.0.0.1") == "0100007F"


def test_both_daemons_accept_jwt_with_the_labs_key(tmp_path):
    paths = Paths(tmp_path)
    for text in (configs.render_slurm_conf(paths), configs.render_slurmdbd_conf(paths, "pw")):
        assert "AuthAltTypes=auth/jwt\n" in text
        assert f"AuthAltParameters=jwt_key={tmp_path}/etc/jwt.key\n" in text
        assert "AuthType=auth/munge\n" in text  # munge stays the daemons' own
