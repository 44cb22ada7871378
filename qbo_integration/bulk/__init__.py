"""The bulk push ("Push all pending"): every pending order in batch requests, one background run at a time,
resumed when its worker dies. Each order keeps its own job (request id, lease, DocNumber look-up)."""
