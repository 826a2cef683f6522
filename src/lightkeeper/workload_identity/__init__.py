"""Workload identity: trust policies per service account and the RFC 8693 token exchange."""
