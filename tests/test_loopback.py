"""Local Ray listens on loopback only (issue: TensorBoard, dashboards and local Ray bind 127.0.0.1)."""

import ipaddress


def _loopback(ip: str) -> bool:
    ip = ip.removeprefix("::ffff:")
    return ipaddress.ip_address(ip).is_loopback


def test_the_local_ray_listens_on_loopback_only(ray_session):
    import psutil

    from tuner.raytune.session import local_ray_processes

    address, pids = local_ray_processes()
    assert address == "127.0.0.1"
    for pid in list(pids):
        try:
            pids |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
    listening = [c for c in psutil.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.pid in pids]
    assert listening, "found none of Ray's listening sockets"
    exposed = [(c.laddr.ip, c.laddr.port, psutil.Process(c.pid).name()) for c in listening
               if not _loopback(c.laddr.ip)]
    assert exposed == []
