"""Talking to a real OVSDB server: JSON-RPC client and applying transactions."""
