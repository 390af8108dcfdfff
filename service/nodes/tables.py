"""Leases held by one node at a time. The DDL, with its seed row, is in migrations/nodes/."""

from __future__ import annotations

from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class NodeLease(Table, tablename="node_lease"):
    """One named piece of background work and the node that does it until `expires_at`."""

    name = Varchar(length=40, primary_key=True)
    holder = Varchar(length=120, default="")
    expires_at = Timestamptz()
