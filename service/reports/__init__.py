"""Council reports: aggregate flows from rollups, with small cells suppressed."""
