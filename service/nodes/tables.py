"""Leases held by one node at a time. The DDL, with its seed row, is in migrations/nodes/."""

from __future__ import annotations

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table


class NodeLease(Table, tablename="node_lease"):
    """One named piece of background work and the node that does it until `expires_at`."""

    name = Varchar(length=40, primary_key=True)
    holder = Varchar(length=120, default="")
    expires_at = Timestamptz()


class SweepPass(Table, tablename="sweep_pass"):
    """One pass of the sweeps: which node ran it and when (finished_at None: it never
    finished, the node died). Passes never overlap while the lease does its job."""

    id = UUID(primary_key=True)
    holder = Varchar(length=120)
    started_at = Timestamptz()
    lease_expires_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
