"""A Dask cluster to run on: a local one of N worker processes, or an existing scheduler's (`gradc fit`)."""
import contextlib

from gradc.cluster.gradients import ClusterError

CONNECT_TIMEOUT = 5  # seconds to reach a scheduler before saying it is unreachable


@contextlib.contextmanager
def connect(workers=None, scheduler=None, timeout=None):
    """A `distributed.Client` for the block: on a LocalCluster of `workers` processes (one thread each), or on
    the scheduler at `scheduler`; closed afterwards. A ClusterError where the scheduler cannot be reached."""
    try:
        import distributed
    except ImportError:
        raise ClusterError("a Dask cluster needs dask.distributed: pip install 'gradc[dask]'") from None
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({reason}): "
                               "check the address, or use --workers N for a local cluster") from None
        with client:
            yield client
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client
