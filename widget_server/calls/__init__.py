"""Stage 2 of a callback: the status machine, leases, scheduling, the dialer, provider
events, the reconciler and the visitor's live status.
"""
