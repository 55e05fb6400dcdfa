"""Past one machine: losses that are sums over data rows, evaluated where row-chunked Dask data lives."""
